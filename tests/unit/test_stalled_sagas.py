"""The reconciler's test for a workflow that says RUNNING but has stopped moving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from apps.order_service.reconciler import stalled

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
AFTER = timedelta(minutes=5)


def test_a_workflow_unchanged_for_longer_than_the_threshold_is_stalled():
    state = SimpleNamespace(last_updated_at=(NOW - timedelta(minutes=6)).replace(tzinfo=None))
    assert stalled(state, AFTER, NOW)  # the SDK's naive timestamps are UTC


def test_a_workflow_that_moved_recently_is_not():
    state = SimpleNamespace(last_updated_at=NOW - timedelta(minutes=4, seconds=59))
    assert not stalled(state, AFTER, NOW)


def test_without_an_update_time_nothing_is_assumed():
    assert not stalled(SimpleNamespace(last_updated_at=None), AFTER, NOW)
    assert not stalled(SimpleNamespace(), AFTER, NOW)
