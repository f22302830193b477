"""docs/bench/soak/README.md and its plots, from one soak run (`make soak`): do memory and the
workflow state store level off under a long steady load?"""

from __future__ import annotations

import bisect
import math
import re
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

from loadtests.bench import machine, plots  # noqa: E402
from loadtests.bench.report import format_ms, markdown_table, percentiles  # noqa: E402
from loadtests.bench.run import BenchRun  # noqa: E402
from loadtests.bench.stats import late_growth  # noqa: E402

LEVEL = 0.10  # "levelled off": grew less than 10 % over the second half of the load


def write_soak_report(bench: BenchRun, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    plots.throughput_and_latency(bench, out / "throughput-latency.png")
    plots.memory(bench, out / "memory.png")
    state_store(bench, out / "state-store.png")
    context = {
        "machine": machine.machine(),
        "versions": machine.versions(),
        "settings": machine.settings(bench.profile),
    }
    (out / "README.md").write_text(render(bench, context))
    return out / "README.md"


def state_store(bench: BenchRun, path: Path) -> None:
    if not bench.state:
        return
    t0 = bench.state[0].time
    fig, rows = plt.subplots(figsize=(11, 4))
    rows.plot([s.time - t0 for s in bench.state], [s.rows for s in bench.state], color="#1f77b4")
    rows.set_ylabel("rows", color="#1f77b4")
    rows.set_xlabel("seconds since the sampler started")
    size = rows.twinx()
    size.plot(
        [s.time - t0 for s in bench.state],
        [s.bytes / 2**20 for s in bench.state],
        color="#ff7f0e",
    )
    size.set_ylabel("MiB on disk", color="#ff7f0e")
    rows.set_ylim(bottom=0)
    size.set_ylim(bottom=0)
    rows.set_title(f"workflow state store (retention {bench.retention})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _window(bench: BenchRun) -> tuple[float, float]:
    soak = bench.scenarios[0]
    return soak.started, soak.last_completion or soak.ended


def _rss_series(bench: BenchRun, name: str) -> list[tuple[float, float]]:
    return [(s.time, s.rss_bytes / 2**20) for s in bench.samples if s.name == name]


def _stack_rss(bench: BenchRun) -> list[tuple[float, float]]:
    """Whole-stack RSS (MiB) per sampler tick (samples of one tick share a second)."""
    ticks: dict[int, float] = {}
    for s in bench.samples:
        if s.name in bench.stack_processes:
            ticks[int(s.time)] = ticks.get(int(s.time), 0.0) + s.rss_bytes / 2**20
    return sorted((float(t), v) for t, v in ticks.items())


def _at(points: list[tuple[float, float]], when: float) -> float:
    before = [v for t, v in points if t <= when]
    return before[-1] if before else math.nan


def _num(v: float, digits: int = 0) -> str:
    return "n/a" if math.isnan(v) else f"{v:,.{digits}f}"


def _growth(g: float) -> str:
    if math.isnan(g):
        return "n/a"
    verdict = "levelled off" if g < LEVEL else "**still growing**"
    return f"{g * 100:+.1f} % ({verdict})"


def _quarters_row(
    label: str, points: list[tuple[float, float]], start: float, end: float, digits: int = 0
) -> list[str]:
    marks = [start + f * (end - start) for f in (0.1, 0.25, 0.5, 0.75, 1.0)]
    values = (_num(_at(points, m), digits) for m in marks)
    return [label, *values, _growth(late_growth(points, start, end))]


def seconds(duration: str) -> float:
    """A Go duration of whole units, as the plans write retention ("2m", "10s", "1h30m")."""
    units = {"h": 3600, "m": 60, "s": 1}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)([hms])", duration))


def rows_per_retained_saga(bench: BenchRun) -> list[tuple[float, float]]:
    """State store rows per saga that ended within the retention time before each sample: flat
    when the purge keeps up, whatever the throughput (the row count itself follows it)."""
    if not bench.retention or not bench.confirmations:
        return []
    keep = seconds(bench.retention)
    ended = sorted(c[0] for done in bench.confirmations.values() for c in done)
    out = []
    for sample in bench.state:
        retained = bisect.bisect_right(ended, sample.time) - bisect.bisect_right(
            ended, sample.time - keep
        )
        if retained:
            out.append((sample.time, sample.rows / retained))
    return out


def render(bench: BenchRun, context: dict[str, dict[str, str]]) -> str:
    soak = bench.scenarios[0]
    start, end = _window(bench)
    rows = [(s.time, float(s.rows)) for s in bench.state]
    size = [(s.time, s.bytes / 2**20) for s in bench.state]
    header = ["", "10 %", "25 %", "50 %", "75 %", "end of load", "second half"]
    per_saga = rows_per_retained_saga(bench)
    levels = [
        _quarters_row("workflow state store, rows", rows, start, end),
        *(
            [
                _quarters_row(
                    f"rows per saga ended in the last {bench.retention}", per_saga, start, end, 1
                )
            ]
            if per_saga
            else []
        ),
        _quarters_row("workflow state store, MiB on disk", size, start, end),
        _quarters_row("whole stack RSS, MiB", _stack_rss(bench), start, end),
    ]
    processes = sorted(bench.stack_processes, key=lambda n: -_at(_rss_series(bench, n), end))
    by_process = [
        _quarters_row(n, _rss_series(bench, n), start, end)
        for n in processes
        if _rss_series(bench, n)
    ]
    peak = max((s.rows for s in bench.state), default=0)
    base = bench.state[0].rows if bench.state else 0
    began = time.strftime("%Y-%m-%d %H:%M %Z", time.localtime(start))
    lines = [
        "# Soak report",
        "",
        f"Written by `make soak` (`python -m loadtests.bench --size soak`), profile "
        f"`{bench.profile}`, on {began}; the whole run took "
        f"{bench.timings.get('whole run', 0):.0f} s. Finished workflow instances were purged "
        f"{bench.retention} after they ended (`WORKFLOW_RETENTION`; the default is 1 h, so a "
        "stack with the default levels off at an hour's worth of sagas instead).",
        "",
        "## The load",
        "",
        *markdown_table(
            ["orders finished (confirmed)", "took", "sagas/s", "p50 / p95 / p99 ms", "CPU ms/saga"]
            + ["problems"],
            [
                [
                    f"{soak.finished:,} ({soak.confirmed:,})",
                    f"{end - start:,.0f} s",
                    f"{soak.sagas_per_second:.1f}",
                    percentiles(soak),
                    format_ms(soak.cpu_ms_per_saga),
                    "; ".join(soak.problems) or "none",
                ]
            ],
        ),
        "",
        f"{soak.description}. k6 drives the public API on the same machine (its CPU not counted).",
        "",
        "## Does it level off?",
        "",
        'Values at fractions of the load (first order to last confirmation); "second half" is '
        "the mean over the last tenth against the mean around the middle (45-55 %), "
        f"levelled off if under {LEVEL * 100:.0f} %.",
        "",
        *markdown_table(header, levels),
        "",
        "The row count follows the throughput (the instances that ended within the retention "
        "time are kept); rows per saga ended in that time stay flat while the purge keeps up.",
        "",
        f"Rows before the run: {base:,} (left by earlier runs in this data directory, with "
        f"their own retention); peak {peak:,}; after the load, once the last instances were "
        f"purged: {'n/a' if bench.purged_to is None else f'{bench.purged_to:,}'}.",
        "",
        "![state store](state-store.png)",
        "",
        "### RSS by process (MiB)",
        "",
        *markdown_table(["process", *header[1:]], by_process),
        "",
        "![memory](memory.png)",
        "",
        "## Throughput and latency over time",
        "",
        "![throughput and latency](throughput-latency.png)",
        "",
        "## Machine, versions, settings",
        "",
        *markdown_table(["", ""], [[k, v] for part in context.values() for k, v in part.items()]),
        "",
    ]
    return "\n".join(lines)
