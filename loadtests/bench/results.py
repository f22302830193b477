"""A bench run's figures and samples as JSON (.run/bench/results-<profile>.json), so a report can
be rendered again from a run without running it again: `python -m loadtests.bench --render FILE`."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from loadtests.bench.run import BenchRun
from loadtests.bench.sampler import Sample
from loadtests.bench.statestore import StateSample
from loadtests.bench.summary import RateStep, RunSummary


def save(bench: BenchRun, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(bench)))
    return path


def load(path: Path) -> BenchRun:
    doc = json.loads(path.read_text())
    return BenchRun(
        profile=doc["profile"],
        size=doc["size"],
        scenarios=[RunSummary(**s) for s in doc["scenarios"]],
        confirmations={k: [tuple(p) for p in v] for k, v in doc["confirmations"].items()},
        ramp=[RateStep(**r) for r in doc["ramp"]],
        saturation=doc["saturation"],
        baselines=[RunSummary(**b) for b in doc["baselines"]],
        samples=[Sample(**s) for s in doc["samples"]],
        stack_processes=doc["stack_processes"],
        timings=doc["timings"],
        retention=doc.get("retention"),
        state=[StateSample(**s) for s in doc.get("state", [])],
        purged_to=doc.get("purged_to"),
    )
