"""Notification HTTP API and its Kafka consumers (order events, dead letters)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import ValidationError

from apps.common.contracts import (
    DEAD_LETTERS,
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    OrderCancelled,
    OrderConfirmed,
)
from apps.common.db import Database
from apps.common.pubsub import Outcome, Subscription
from apps.notification_service import notifications


def api_router(db: Database) -> APIRouter:
    router = APIRouter()

    @router.get("/notifications")
    def list_notifications(
        order_id: str = Query(alias="orderId", min_length=1, max_length=64),
    ) -> dict:
        return {
            "items": [
                {
                    "notificationId": n.notification_id,
                    "orderId": n.order_id,
                    "customerId": n.customer_id,
                    "type": n.type,
                    "sentAt": n.sent_at.isoformat(),
                }
                for n in notifications.notifications_for_order(db, order_id)
            ]
        }

    @router.get("/dead-letters")
    def list_dead_letters() -> dict:
        return {
            "items": [
                {"topic": d.topic, "payload": d.payload, "receivedAt": d.received_at.isoformat()}
                for d in notifications.dead_letters(db)
            ]
        }

    return router


def subscriptions(db: Database) -> list[Subscription]:
    def on_event(kind: str, model: type[OrderConfirmed] | type[OrderCancelled]):  # type: ignore[no-untyped-def]
        def handle(data: dict) -> Outcome:
            try:
                event = model.model_validate(data)
            except ValidationError:
                return Outcome.DROP
            sent = notifications.notify(db, event.order_id, event.customer_id, kind)
            return Outcome.SUCCESS if sent else Outcome.DUPLICATE

        return handle

    def on_dead_letter(data: dict) -> Outcome:
        notifications.keep_dead_letter(db, None, data)
        return Outcome.SUCCESS

    return [
        Subscription(ORDER_CONFIRMED, on_event("ORDER_CONFIRMED", OrderConfirmed)),
        Subscription(ORDER_CANCELLED, on_event("ORDER_CANCELLED", OrderCancelled)),
        Subscription(DEAD_LETTERS, on_dead_letter, dead_letter=False),
    ]
