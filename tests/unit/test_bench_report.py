"""The bench report rendered from canned samples: tables, ratios, and the three plots."""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.bench.run import BenchRun
from loadtests.bench.sampler import Sample
from loadtests.bench.summary import RateStep, RunSummary

CONTEXT = {
    "machine": {"CPU": "Test CPU", "cores": "2"},
    "versions": {"Dapr": "1.18.2"},
    "settings": {"profile": "sqlite"},
}


def _run(name: str, description: str, finished: int, cpu: dict[str, float]) -> RunSummary:
    return RunSummary(
        name=name,
        description=description,
        started=1000.0,
        ended=1010.0,
        finished=finished,
        confirmed=finished,
        latencies_ms=[100.0 * (i + 1) for i in range(finished)],
        last_completion=1010.0,
        cpu_seconds=cpu,
    )


@pytest.fixture
def bench() -> BenchRun:
    ours = _run("constant", "15 orders/s", 10, {"gateway": 0.5, "kafka": 1.5})
    ours.thresholds_held = True
    base = _run("baseline", "15 workflows/s (constant rate)", 10, {"bench-baseline": 0.4})
    samples = [
        Sample(1000.0 + t, name, t * 0.1, (100 + t) * 2**20)
        for t in range(11)
        for name in ("gateway", "kafka")
    ]
    return BenchRun(
        profile="sqlite",
        size="full",
        scenarios=[ours],
        confirmations={"constant": [(1000.5 + i, 100.0 * (i + 1), 15.0) for i in range(10)]},
        ramp=[RateStep(2, 20, 20, 300.0), RateStep(4, 40, 40, 2500.0)],
        saturation=2,
        baselines=[base],
        samples=samples,
        stack_processes=["gateway", "kafka"],
        timings={"whole run": 12.0, "stack start": 2.0},
    )


def test_render_gives_figures_per_saga_and_the_ratio_to_the_baseline(bench: BenchRun) -> None:
    from loadtests.bench.report import render

    text = render(bench, CONTEXT)
    # (0.5 + 1.5) s of CPU over 10 sagas = 200 ms per saga; the baseline 0.4 s / 10 = 40 ms.
    assert "| CPU ms per saga, constant rate | 200 | <= 100 |" in text
    assert "| **ratio ours / baseline** | 1.00x | 5.00x |" in text
    assert "| gateway | 50 | - |" in text
    assert "| kafka | 150 | - |" in text
    assert "Saturation point: **2 orders/s**:" in text
    assert "| 4 | 40 | 0 | 40 | 2,500 | no |" in text  # offered, accepted, shed, confirmed, p99
    assert "| constant | 200 | 220 | +20 |" in text  # stack RSS at start, end, change (MiB)
    assert "| CPU | Test CPU |" in text


def test_write_report_draws_every_plot(bench: BenchRun, tmp_path: Path) -> None:
    from loadtests.bench import machine
    from loadtests.bench.report import PLOTS, write_report

    original = machine.versions
    machine.versions = lambda: {"Dapr": "test"}  # no binaries needed
    try:
        readme = write_report(bench, tmp_path)
    finally:
        machine.versions = original
    assert readme.read_text().startswith("# Bench report")
    for name in PLOTS:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"


def test_a_saved_run_loads_back_the_same(bench: BenchRun, tmp_path: Path) -> None:
    from loadtests.bench import results

    assert results.load(results.save(bench, tmp_path / "results.json")) == bench


def test_the_report_says_what_the_state_store_held_at_the_start() -> None:
    from loadtests.bench.statestore import StateSample, start_note

    assert start_note([]) == "The workflow state store could not be read at the start."
    empty = start_note([StateSample(0.0, 0, 2**20)])
    assert empty == "The workflow state store held 0 rows (1.0 MiB) at the start."
    left = start_note([StateSample(0.0, 1234, 3 * 2**20), StateSample(5.0, 0, 0)])
    assert left.startswith("The workflow state store held 1234 rows (3.0 MiB) at the start: left")
