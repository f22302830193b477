"""Notifications on a real SQLite database: one per order and kind, whatever arrives twice."""

from concurrent.futures import ThreadPoolExecutor

from apps.notification_service import notifications
from apps.notification_service.store import create_tables


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
