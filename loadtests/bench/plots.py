"""The report's PNG plots (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend is chosen first

from loadtests.bench.stats import per_second_counts, windowed_percentiles  # noqa: E402

if TYPE_CHECKING:
    from loadtests.bench.run import BenchRun

COLOURS = plt.get_cmap("tab20").colors


def throughput_and_latency(bench: BenchRun, path: Path) -> None:
    """Per scenario: confirmed orders per second, and p50/p95/p99 over 5 s windows."""
    shown = [s for s in bench.scenarios if bench.confirmations.get(s.name)]
    fig, axes = plt.subplots(len(shown) or 1, 1, figsize=(10, 3.2 * max(1, len(shown))))
    axes = [axes] if not hasattr(axes, "__len__") else list(axes)
    for ax, s in zip(axes, shown, strict=False):
        points = bench.confirmations[s.name]
        counts = per_second_counts([t for t, _ms, _r in points], s.started, s.ended)
        ax.bar(range(len(counts)), counts, width=1.0, color="#9ecae1", label="confirmed/s")
        ax.set_ylabel("confirmed per s")
        ax.set_xlabel("seconds since the scenario started")
        ax.set_title(f"{s.name}: {s.description}", fontsize=10)
        lat = ax.twinx()
        windows = windowed_percentiles([(t, ms) for t, ms, _r in points], s.started, s.ended)
        for q, style in ((50, "-"), (95, "--"), (99, ":")):
            lat.plot(
                [w for w, _ in windows],
                [v[q] / 1000 for _, v in windows],
                style,
                color="#d62728",
                label=f"p{q}",
            )
        lat.set_ylabel("POST -> CONFIRMED (s)")
        lat.set_ylim(bottom=0)
        lines, labels = ax.get_legend_handles_labels()
        more, more_labels = lat.get_legend_handles_labels()
        ax.legend(lines + more, labels + more_labels, loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def cpu_per_saga(bench: BenchRun, path: Path) -> None:
    """Stacked bars: CPU ms per completed saga, by process, for each scenario and baseline."""
    runs = [s for s in bench.scenarios if s.finished] + [b for b in bench.baselines if b.finished]
    names = sorted(
        {n for r in runs for n in r.cpu_seconds},
        key=lambda n: -sum(r.cpu_seconds.get(n, 0) / r.finished for r in runs),
    )
    labels = [
        ("baseline\nburst" if "in flight" in r.description else "baseline\nconstant")
        if r in bench.baselines
        else f"{r.name}\n(ours)"
        for r in runs
    ]
    fig, ax = plt.subplots(figsize=(11, 5))
    bottoms = [0.0] * len(runs)
    for i, name in enumerate(names):
        heights = [r.cpu_seconds.get(name, 0) * 1000 / r.finished for r in runs]
        ax.bar(labels, heights, bottom=bottoms, label=name, color=COLOURS[i % len(COLOURS)])
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_ylabel("CPU ms per completed saga")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def memory(bench: BenchRun, path: Path) -> None:
    """RSS of every stack process over the whole run (stacked), scenarios shaded."""
    if not bench.samples:
        return
    t0 = min(s.time for s in bench.samples)
    names = [n for n in bench.stack_processes if any(s.name == n for s in bench.samples)]
    # One series per process on a common 1 s grid (the last sample at or before each second).
    end = max(s.time for s in bench.samples) - t0
    grid = list(range(int(end) + 1))
    series = []
    for name in names:
        points = sorted((s.time - t0, s.rss_bytes) for s in bench.samples if s.name == name)
        values, j, current = [], 0, 0
        for sec in grid:
            while j < len(points) and points[j][0] <= sec:
                current = points[j][1]
                j += 1
            values.append(current / 2**20)
        series.append(values)
    fig, ax = plt.subplots(figsize=(11, 5))
    ax.stackplot(grid, series, labels=names, colors=COLOURS[: len(names)])
    top = ax.get_ylim()[1]
    for s in bench.scenarios + bench.baselines:
        ax.axvline(s.started - t0, color="black", linewidth=0.6)
        ax.text(s.started - t0, top, f" {s.name}", rotation=90, fontsize=7, va="top")
    ax.set_xlabel("seconds since the sampler started")
    ax.set_ylabel("RSS (MiB), stacked")
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
