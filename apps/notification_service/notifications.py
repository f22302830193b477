"""Telling the customer: exactly one notification per terminal order and kind."""

from __future__ import annotations

import logging
from datetime import datetime

from prometheus_client import Histogram
from sqlalchemy import bindparam, select

from apps.common.db import AnyRow, Database, insert_absent
from apps.notification_service.store import (
    NOTIFICATION,
    new_notification_id,
    utcnow,
)

log = logging.getLogger(__name__)
NOTIFICATION_DELAY = Histogram(
    "notification_delay_seconds",
    "From an order's confirmation (order-confirmed's confirmedAt, message v2) to the customer "
    "being told: what the saga's last step and the broker add to what the customer sees",
    ["kind"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)

FOR_ORDER = (
    select(
        NOTIFICATION.c.notification_id,
        NOTIFICATION.c.order_id,
        NOTIFICATION.c.customer_id,
        NOTIFICATION.c.type,
        NOTIFICATION.c.sent_at,
    )
    .where(NOTIFICATION.c.order_id == bindparam("order_id_"))
    .order_by(NOTIFICATION.c.sent_at)
)


def notify(
    db: Database,
    order_id: str,
    customer_id: str,
    kind: str,
    *,
    confirmed_at: datetime | None = None,
) -> bool:
    """Records (and "sends") the notification; False when it was already sent (the unique
    order and kind: one INSERT that skips a duplicate, no error to recover from). With
    `confirmed_at` (order-confirmed v2) the message says when, and the delay is measured."""
    sent_at = utcnow()
    row = {
        "notification_id": new_notification_id(),
        "order_id": order_id,
        "customer_id": customer_id,
        "type": kind,
        "sent_at": sent_at,
    }
    with db.write() as conn:
        if not insert_absent(conn, NOTIFICATION, row):
            return False
    # The delivery channel (mail, SMS) is out of scope: the log line is the message sent.
    if confirmed_at is None:
        log.info("notified %s: %s", customer_id, kind, extra={"order_id": order_id})
        return True
    delay = max(0.0, (sent_at - confirmed_at).total_seconds())
    NOTIFICATION_DELAY.labels(kind).observe(delay)
    log.info(
        "notified %s: %s at %s (%.3f s later)",
        customer_id,
        kind,
        confirmed_at.isoformat(),
        delay,
        extra={"order_id": order_id},
    )
    return True


def notifications_for_order(db: Database, order_id: str) -> list[AnyRow]:
    """Its notifications (notification_id, order_id, customer_id, type, sent_at), oldest first."""
    with db.read() as conn:
        return list(conn.execute(FOR_ORDER, {"order_id_": order_id}))
