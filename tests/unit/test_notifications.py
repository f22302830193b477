"""Notifications on a real SQLite database: one per order and kind, whatever arrives twice."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from prometheus_client import REGISTRY

from apps.notification_service import notifications
from apps.notification_service.store import create_tables

CONFIRMED = "ORDER_CONFIRMED"


def test_one_notification_per_order_and_kind(sqlite_db):
    create_tables(sqlite_db)
    assert notifications.notify(sqlite_db, "o1", "c1", "ORDER_CONFIRMED")
    assert not notifications.notify(sqlite_db, "o1", "c1", "ORDER_CONFIRMED")
    assert notifications.notify(sqlite_db, "o1", "c1", "ORDER_CANCELLED")
    sent = notifications.notifications_for_order(sqlite_db, "o1")
    assert [(n.order_id, n.customer_id, n.type) for n in sent] == [
        ("o1", "c1", "ORDER_CONFIRMED"),
        ("o1", "c1", "ORDER_CANCELLED"),
    ]
    assert sent[0].sent_at <= sent[1].sent_at and sent[0].notification_id != sent[1].notification_id
    assert notifications.notifications_for_order(sqlite_db, "o2") == []


def test_concurrent_duplicates_notify_once(sqlite_db):
    create_tables(sqlite_db)
    with ThreadPoolExecutor(8) as pool:
        sent = list(
            pool.map(
                lambda _: notifications.notify(sqlite_db, "o1", "c1", "ORDER_CONFIRMED"), range(16)
            )
        )
    assert sum(sent) == 1
    assert len(notifications.notifications_for_order(sqlite_db, "o1")) == 1


def delays_measured() -> float:
    count = REGISTRY.get_sample_value("notification_delay_seconds_count", {"kind": CONFIRMED})
    return count or 0.0


def test_a_v2_confirmation_measures_the_customers_wait_and_a_v1_one_does_not(sqlite_db):
    """order-confirmed v2 carries confirmedAt: the delay until the customer is told is observed
    once per notification sent; a v1 event (none) is notified as before, and a duplicate of
    either measures nothing."""
    create_tables(sqlite_db)
    before = delays_measured()
    assert notifications.notify(sqlite_db, "o1", "c1", CONFIRMED)  # v1: no confirmedAt
    assert delays_measured() == before
    confirmed_at = datetime.now(UTC) - timedelta(seconds=2)
    sum_before = REGISTRY.get_sample_value("notification_delay_seconds_sum", {"kind": CONFIRMED})
    assert notifications.notify(sqlite_db, "o2", "c1", CONFIRMED, confirmed_at=confirmed_at)
    assert delays_measured() == before + 1
    waited = REGISTRY.get_sample_value("notification_delay_seconds_sum", {"kind": CONFIRMED})
    assert 2 <= waited - (sum_before or 0.0) < 60
    assert not notifications.notify(sqlite_db, "o2", "c1", CONFIRMED, confirmed_at=confirmed_at)
    assert delays_measured() == before + 1
