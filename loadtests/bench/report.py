"""docs/bench/README.md and its plots, from one BenchRun."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from loadtests.bench import machine, plots, statestore
from loadtests.bench.plan import TARGET_P99_MS
from loadtests.bench.run import BenchRun
from loadtests.bench.summary import RunSummary

PLOTS: dict[str, Callable[[BenchRun, Path], None]] = {
    "throughput-latency.png": plots.throughput_and_latency,
    "cpu-per-saga.png": plots.cpu_per_saga,
    "memory.png": plots.memory,
}


def write_report(bench: BenchRun, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, draw in PLOTS.items():
        draw(bench, out / name)
    context = {
        "machine": machine.machine(),
        "versions": machine.versions(),
        "settings": machine.settings(bench.profile),
    }
    (out / "README.md").write_text(render(bench, context))
    return out / "README.md"


def format_ms(v: float) -> str:
    return "n/a" if math.isnan(v) else f"{v:,.0f}"


def percentiles(run: Any) -> str:
    """p50 / p95 / p99 of a run's latencies, in ms."""
    return f"{format_ms(run.p(50))} / {format_ms(run.p(95))} / {format_ms(run.p(99))}"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        *("| " + " | ".join(r) + " |" for r in rows),
    ]


def _scenario_rows(runs: list[RunSummary]) -> list[list[str]]:
    return [
        [
            f"**{s.name}**",
            s.description,
            f"{s.finished} ({s.confirmed})",
            f"{s.sagas_per_second:.1f}",
            percentiles(s),
            format_ms(s.cpu_ms_per_saga),
            {True: "held", False: "**missed**", None: "-"}[s.thresholds_held],
            "; ".join(s.problems) or "none",
        ]
        for s in runs
    ]


def _ratio(ours: float, base: float) -> str:
    return "n/a" if not base or math.isnan(ours) or math.isnan(base) else f"{ours / base:.2f}x"


def _versus(bench: BenchRun) -> list[str]:
    pairs = [(s, b) for s in bench.scenarios for b in bench.baselines if _comparable(s, b)]
    rows = []
    for ours, base in pairs:
        for who, r in (("ours", ours), ("baseline", base)):
            rows.append(
                [
                    f"{who}: {r.description}",
                    f"{r.sagas_per_second:.1f}",
                    format_ms(r.cpu_ms_per_saga),
                    format_ms(r.p(50)),
                    format_ms(r.p(99)),
                ]
            )
        rows.append(
            [
                "**ratio ours / baseline**",
                _ratio(ours.sagas_per_second, base.sagas_per_second),
                _ratio(ours.cpu_ms_per_saga, base.cpu_ms_per_saga),
                _ratio(ours.p(50), base.p(50)),
                _ratio(ours.p(99), base.p(99)),
            ]
        )
    return markdown_table(["run", "sagas/s", "CPU ms per saga", "p50 ms", "p99 ms"], rows)


def _comparable(ours: RunSummary, base: RunSummary) -> bool:
    """Burst beside burst, constant rate beside constant rate."""
    return (ours.name == "burst") == ("in flight" in base.description) and ours.name in (
        "burst",
        "constant",
    )


def _cpu_by_process(runs: list[RunSummary]) -> list[str]:
    names = sorted({n for r in runs for n in r.cpu_seconds})
    names.sort(key=lambda n: -max(r.cpu_seconds.get(n, 0) / max(1, r.finished) for r in runs))
    rows = [[n, *(_ms_per_saga(r, n) for r in runs)] for n in names]
    rows.append(["**all**", *(f"**{format_ms(r.cpu_ms_per_saga)}**" for r in runs)])
    return markdown_table(["process", *(_run_label(r) for r in runs)], rows)


def _ms_per_saga(r: RunSummary, process: str) -> str:
    if process not in r.cpu_seconds:
        return "-"
    return format_ms(r.cpu_seconds[process] * 1000 / r.finished)


def _run_label(r: RunSummary) -> str:
    if r.name != "baseline":
        return r.name
    return "baseline, burst" if "in flight" in r.description else "baseline, constant"


def _memory_rows(bench: BenchRun) -> list[list[str]]:
    rows = []
    for s in bench.scenarios:
        at = [_stack_rss(bench, t) for t in (s.started, s.ended)]
        rows.append([s.name, f"{at[0]:,.0f}", f"{at[1]:,.0f}", f"{at[1] - at[0]:+,.0f}"])
    return rows


def _stack_rss(bench: BenchRun, when: float) -> float:
    latest: dict[str, int] = {}
    for s in sorted(bench.samples, key=lambda s: s.time):
        if s.time <= when + 0.5 and s.name in bench.stack_processes:
            latest[s.name] = s.rss_bytes
    return sum(latest.values()) / 2**20


def _hold_row(bench: BenchRun) -> list[list[str]]:
    hold = next((s for s in bench.scenarios if s.name == "saturation-hold"), None)
    if hold is None:
        return []
    figure = f"{hold.p(99) / 1000:.2f} s, {hold.finished} finished"
    figure += f"; {'; '.join(hold.problems)}" if hold.problems else ", no problem"
    return [
        [f"p99 holding the saturation rate 60 s ({hold.description.split(':')[0]})", figure, ""]
    ]


def _first_start(bench: BenchRun) -> float:
    return min((s.started for s in bench.scenarios), default=time.time())


def render(bench: BenchRun, context: dict[str, dict[str, str]]) -> str:
    ours = [s for s in bench.scenarios if s.finished]
    constant = next((s for s in bench.scenarios if s.name == "constant"), None)
    burst = next((s for s in bench.scenarios if s.name == "burst"), None)
    sat = "below the first step" if bench.saturation is None else f"{bench.saturation:g} orders/s"
    lines = [
        "# Bench report",
        "",
        f"Written by `make bench` (`python -m loadtests.bench`), profile `{bench.profile}`, on "
        f"{time.strftime('%Y-%m-%d %H:%M %Z', time.localtime(_first_start(bench)))}; "
        f"the whole run took {bench.timings.get('whole run', 0):.0f} s"
        + (
            f" (stack start {bench.timings['stack start']:.0f} s)."
            if "stack start" in bench.timings
            else "."
        ),
        "Every figure below comes from that run. k6 drives the public API on the same machine "
        "(its CPU is not counted); a sampler reads `/proc` every second for every stack process "
        "(apps, sidecars, placement, scheduler, Kafka, Zipkin, PostgreSQL with its backends). "
        + statestore.start_note(bench.state),
        "",
        "## Headline",
        "",
        *markdown_table(
            ["figure", "value", "target (issue 8)"],
            [
                [
                    "sagas/s, burst",
                    f"{burst.sagas_per_second:.1f}" if burst else "n/a",
                    "",
                ],
                [
                    "CPU ms per saga, constant rate",
                    format_ms(constant.cpu_ms_per_saga) if constant else "n/a",
                    "<= 100",
                ],
                [
                    "p50 / p95 / p99 at the constant rate (ms)",
                    percentiles(constant) if constant else "n/a",
                    f"p99 <= {TARGET_P99_MS:.0f}, all confirmed, no errors",
                ],
                ["saturation (highest ramp step with p99 <= 2 s)", sat, ">= 15 orders/s"],
                *_hold_row(bench),
            ],
        ),
        "",
        "## Ours beside a bare Dapr workflow (same run, same daprd)",
        "",
        "The baseline (`loadtests/baseline/`) is a Python workflow app with as many no-op "
        "activities as the saga's happy path had until its reservation left the activities (2; "
        "now 1 activity, take_payment, plus one external event and one timer), "
        "on its own daprd (app id `bench-baseline`) built from the same sources, using the "
        "stack's placement and scheduler and a SQLite actor state store, tracing sampled as "
        "order-service's sidecar is. Its CPU is its app + daprd + the placement and scheduler "
        "(the stack is idle meanwhile); latency is from scheduling to completion.",
        "",
        *_versus(bench),
        "",
        "## Scenarios",
        "",
        *markdown_table(
            [
                "scenario",
                "load",
                "finished (confirmed)",
                "sagas/s",
                "p50 / p95 / p99 ms",
                "CPU ms/saga",
                "k6 thresholds",
                "problems",
            ],
            _scenario_rows(bench.scenarios + bench.baselines),
        ),
        "",
        "Latency is POST /orders sent -> `CONFIRMED` seen, by the POST's own answer "
        "(`?waitSeconds=N` answers once the order has settled) or, if it has not by then, by "
        "GET /orders/{id}?waitSeconds=N (N from WAIT_SECONDS, 5 unless set; with 0, k6 polls "
        "every 0.25 s for 3 s, then 0.5 s, then 1 s, and latency includes up to one polling "
        "interval). "
        "sagas/s = orders finished / (last confirmation - scenario start). CPU ms per saga = "
        "CPU of all stack processes in the scenario's window (its drain included) / orders "
        "finished in it.",
        "",
    ]
    if bench.ramp:
        lines += [
            "## Ramp to saturation",
            "",
            *markdown_table(
                [
                    "offered orders/s",
                    "accepted",
                    "shed (429/503)",
                    "confirmed",
                    "p99 ms",
                    f"p99 <= {TARGET_P99_MS:.0f}",
                ],
                [
                    [
                        f"{r.rate:g}",
                        str(r.accepted),
                        str(r.shed),
                        str(r.confirmed),
                        format_ms(r.p99_ms),
                        "yes" if r.holds(TARGET_P99_MS) else "no",
                    ]
                    for r in bench.ramp
                ],
            ),
            "",
            f"Saturation point: **{sat}**: the highest step before the first one that shed an "
            "order, left one unconfirmed or missed the p99. Past it the ramp stops itself once an "
            "order is open 8 s (unless shedding keeps every accepted order quicker than that), "
            "leaving the orders still open to finish before the next scenario starts.",
            "",
        ]
    lines += [
        "## Throughput and latency over time",
        "",
        "![throughput and latency](throughput-latency.png)",
        "",
        "## CPU per completed saga, by process",
        "",
        *_cpu_by_process(ours + [b for b in bench.baselines if b.finished]),
        "",
        "![CPU per saga](cpu-per-saga.png)",
        "",
        "## Memory",
        "",
        *markdown_table(
            ["scenario", "stack RSS at start (MiB)", "at end", "change"], _memory_rows(bench)
        ),
        "",
        "RSS summed per process tree (PostgreSQL's shared memory is counted in each backend).",
        "",
        "![memory](memory.png)",
        "",
        "## Machine, versions, settings",
        "",
        *markdown_table(["", ""], [[k, v] for part in context.values() for k, v in part.items()]),
        "",
    ]
    return "\n".join(lines)
