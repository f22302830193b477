"""Saga metrics count each saga once, although workflow code runs again on every replay."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from prometheus_client import REGISTRY

from workflows.metrics import SagaClock


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_saga_is_counted_once_and_timed_by_the_workflow_clock():
    before = {n: value(n) for n in ("order_saga_started_total", "order_saga_compensated_total")}
    seconds = value("order_saga_duration_seconds_sum", outcome="compensated")
    start = datetime(2026, 1, 1, 12, 0, 0)
    ctx = SimpleNamespace(is_replaying=False, current_utc_datetime=start)

    clock = SagaClock(ctx)  # first run: counted
    ctx.is_replaying = True  # every later wake-up replays from the start: not counted again
    replayed = SagaClock(ctx)
    replayed.ended("COMPENSATED")
    ctx.is_replaying, ctx.current_utc_datetime = False, start + timedelta(seconds=4)
    clock.ended("COMPENSATED")
    clock.ended(None)  # a run without an outcome of its own counts no end

    assert value("order_saga_started_total") == before["order_saga_started_total"] + 1
    assert value("order_saga_compensated_total") == before["order_saga_compensated_total"] + 1
    assert value("order_saga_duration_seconds_sum", outcome="compensated") == seconds + 4
