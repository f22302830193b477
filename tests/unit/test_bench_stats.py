"""The bench's pure parts: percentiles, CPU accounting from /proc samples, k6 points, saturation."""

from __future__ import annotations

import json
import math

import pytest

from loadtests.bench.k6run import K6Result, parse_time, read_points
from loadtests.bench.procfs import CLOCK_TICKS, PAGE_BYTES, ProcStat, parse_stat, tree_usage
from loadtests.bench.sampler import Sample
from loadtests.bench.stats import (
    cpu_by_process,
    per_second_counts,
    percentile,
    windowed_percentiles,
)
from loadtests.bench.summary import RateStep, rate_steps, saturation_rate


def test_percentile_interpolates_between_closest_ranks() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))


def test_parse_stat_counts_fields_after_a_command_name_with_spaces_and_parens() -> None:
    fields = ["S", "42"] + ["0"] * 9 + ["100", "50", "7", "3"] + ["0"] * 6 + ["2048"]
    stat = parse_stat(f"4242 (my (odd) name) {' '.join(fields)} 0 0")
    assert stat == ProcStat(pid=4242, ppid=42, cpu_ticks=160, rss_pages=2048)


def test_tree_usage_sums_a_process_and_its_descendants_only() -> None:
    stats = {
        10: ProcStat(10, 1, 100, 10),  # postmaster
        11: ProcStat(11, 10, 40, 5),  # backend
        12: ProcStat(12, 11, 10, 1),  # its child
        20: ProcStat(20, 1, 999, 999),  # someone else
    }
    usage = tree_usage(stats, 10)
    assert usage.cpu_seconds == pytest.approx(150 / CLOCK_TICKS)
    assert usage.rss_bytes == 16 * PAGE_BYTES


def test_cpu_by_process_takes_deltas_between_the_window_edges() -> None:
    samples = [
        Sample(99.0, "kafka", 10.0, 0),
        Sample(100.0, "kafka", 11.0, 0),  # at the start
        Sample(105.0, "kafka", 13.5, 0),
        Sample(110.0, "kafka", 15.0, 0),  # at the end
        Sample(111.0, "kafka", 99.0, 0),  # after: ignored
        Sample(103.0, "late", 2.0, 0),  # started inside the window
        Sample(109.0, "late", 2.5, 0),
        Sample(50.0, "gone", 1.0, 0),  # exited before the window
    ]
    used = cpu_by_process(samples, 100.0, 110.0)
    assert used == {"kafka": pytest.approx(4.0), "late": pytest.approx(0.5)}


def test_per_second_counts_and_windowed_percentiles() -> None:
    assert per_second_counts([100.2, 100.9, 102.5, 99.0, 104.0], 100.0, 104.0) == [2, 0, 1, 0]
    windows = windowed_percentiles([(100.0, 10.0), (101.0, 30.0), (106.0, 5.0)], 100.0, 110.0)
    assert windows == [
        (2.5, {50: 20.0, 95: pytest.approx(29.0), 99: pytest.approx(29.8)}),
        (7.5, {50: 5.0, 95: 5.0, 99: 5.0}),
    ]


def test_parse_time_reads_k6_nanosecond_timestamps() -> None:
    assert parse_time("2026-01-02T03:04:05.123456789Z") == pytest.approx(1767323045.123456)
    assert parse_time("2026-01-02T03:04:05+00:00") == 1767323045.0


def _point(metric: str, value: float, **tags: str) -> str:
    data = {"time": "2026-01-02T03:04:05.5Z", "value": value, "tags": tags}
    return json.dumps({"type": "Point", "metric": metric, "data": data})


def test_read_points_counts_orders_and_keeps_latencies_by_offered_rate() -> None:
    result = K6Result("ramp", {}, 0.0, 1.0, 0)
    lines = [
        json.dumps({"type": "Metric", "metric": "orders_accepted", "data": {}}),
        _point("orders_accepted", 1, offered="2"),
        _point("orders_accepted", 1, offered="4"),
        _point("orders_confirmed", 1, offered="2"),
        _point("order_confirm_ms", 850.0, offered="2"),
        _point("http_req_duration", 12.0, name="POST /orders"),
        _point("http_req_duration", 99.0, name="GET /orders/{id}"),
        _point("checks", 0, check="shed with Retry-After"),
        _point("order_errors", 1, reason="GET 502"),
    ]
    read_points(lines, result)
    assert result.counts == {"orders_accepted": 2, "orders_confirmed": 1, "order_errors": 1}
    assert result.error_reasons == {"GET 502": 1}
    assert result.accepted_by_rate == {2.0: 1, 4.0: 1}
    assert result.confirmations == [(pytest.approx(1767323045.5), 850.0, 2.0)]
    assert result.post_ms == [12.0]
    assert result.retry_after_missing == 1
    assert result.unfinished == 1
    steps = rate_steps(result)
    assert steps == [RateStep(2.0, 1, 1, 850.0), RateStep(4.0, 1, 0, steps[1].p99_ms)]


def test_saturation_is_the_last_step_before_the_first_miss() -> None:
    steps = [
        RateStep(2, 20, 20, 400.0),
        RateStep(4, 40, 40, 1900.0),
        RateStep(6, 60, 60, 2500.0),  # p99 missed
        RateStep(8, 80, 80, 1000.0),  # after a miss: not counted
    ]
    assert saturation_rate(steps, 2000.0) == 4
    assert saturation_rate([RateStep(2, 20, 19, 100.0)], 2000.0) is None  # one not confirmed
    # Shedding keeps what is accepted quick, but a rate that sheds is not one the stack holds.
    assert (
        saturation_rate([RateStep(2, 20, 20, 100.0), RateStep(4, 30, 30, 900.0, shed=10)], 2000.0)
        == 2
    )
    assert saturation_rate([], 2000.0) is None
