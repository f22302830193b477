"""Telling the customer: exactly one notification per terminal order and kind."""

from __future__ import annotations

import logging

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from apps.common.db import Database
from apps.notification_service.store import Notification

log = logging.getLogger(__name__)


def notify(db: Database, order_id: str, customer_id: str, kind: str) -> bool:
    """Records (and "sends") the notification; False when it was already sent."""
    with db.session() as s:
        s.add(Notification(order_id=order_id, customer_id=customer_id, type=kind))
        try:
            s.commit()
        except IntegrityError:
            return False
    # The delivery channel (mail, SMS) is out of scope: the log line is the message sent.
    log.info("notified %s: %s", customer_id, kind, extra={"order_id": order_id})
    return True


def notifications_for_order(db: Database, order_id: str) -> list[Notification]:
    with db.session() as s:
        query = select(Notification).where(Notification.order_id == order_id)
        return list(s.exec(query.order_by(Notification.sent_at)).all())
