"""Percentiles, windows and CPU accounting over samples: pure functions."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from loadtests.bench.sampler import Sample


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default); NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def cpu_by_process(samples: Iterable[Sample], start: float, end: float) -> dict[str, float]:
    """CPU seconds each process (tree) used between start and end: its cumulative CPU at the last
    sample at or before `end` minus that at the last sample at or before `start` (or its first
    sample, for a process that started inside the window)."""
    first: dict[str, Sample] = {}
    before: dict[str, Sample] = {}
    last: dict[str, Sample] = {}
    for s in sorted(samples, key=lambda s: s.time):
        if s.time <= start:
            before[s.name] = s
        elif s.time <= end:
            first.setdefault(s.name, s)
        if s.time <= end:
            last[s.name] = s
    used = {}
    for name, final in last.items():
        origin = before.get(name) or first.get(name)
        if origin is not None and final.time > start:
            used[name] = max(0.0, final.cpu_seconds - origin.cpu_seconds)
    return used


def per_second_counts(times: Iterable[float], start: float, end: float) -> list[int]:
    """How many events fell in each whole second from start to end."""
    counts = [0] * max(1, math.ceil(end - start))
    for t in times:
        if start <= t < end:
            counts[int(t - start)] += 1
    return counts


def windowed_percentiles(
    points: Iterable[tuple[float, float]],
    start: float,
    end: float,
    window: float = 5.0,
    quantiles: Sequence[float] = (50, 95, 99),
) -> list[tuple[float, dict[float, float]]]:
    """For each window (by event time), the percentiles of the values in it: (offset, {q: v})."""
    buckets: dict[int, list[float]] = {}
    for t, v in points:
        if start <= t < end:
            buckets.setdefault(int((t - start) // window), []).append(v)
    return [
        ((i + 0.5) * window, {q: percentile(vs, q) for q in quantiles})
        for i, vs in sorted(buckets.items())
    ]


def mean_between(points: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Mean of the values whose time is in [start, end]; NaN if none."""
    inside = [v for t, v in points if start <= t <= end]
    return sum(inside) / len(inside) if inside else math.nan


def late_growth(points: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """How much a series still grew in the second half of [start, end]: the mean over its last
    tenth relative to the mean around its middle (45-55 %). About 0 for a series that levelled
    off; about 0.8 for one that grows linearly from 0."""
    span = end - start
    middle = mean_between(points, start + 0.45 * span, start + 0.55 * span)
    last = mean_between(points, start + 0.9 * span, end)
    if math.isnan(middle) or math.isnan(last) or middle == 0:
        return math.nan
    return last / middle - 1
