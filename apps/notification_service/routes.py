"""Notification HTTP API and its Kafka consumers (order events, dead letters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Path, Query

from apps.common.contracts import (
    DEAD_LETTERS,
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    OrderCancelled,
    OrderConfirmed,
)
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.metrics import DEAD_LETTERS_RECEIVED
from apps.common.pubsub import Outcome, Subscription, parse_message
from apps.common.settings import get_settings
from apps.notification_service import dead_letters, notifications
from apps.notification_service.store import iso_utc

MAX_ROW_ID = 2**31 - 1  # an INTEGER primary key in PostgreSQL


def api_router(db: Database, dapr: DaprClient) -> APIRouter:
    router = APIRouter()

    @router.get("/notifications")
    def list_notifications(
        order_id: str = Query(alias="orderId", min_length=1, max_length=64),
    ) -> dict[str, Any]:
        return {
            "items": [
                {
                    "notificationId": n.notification_id,
                    "orderId": n.order_id,
                    "customerId": n.customer_id,
                    "type": n.type,
                    "sentAt": iso_utc(n.sent_at),
                }
                for n in notifications.notifications_for_order(db, order_id)
            ]
        }

    @router.get("/dead-letters")
    def list_dead_letters(limit: int = Query(default=100, ge=1, le=500)) -> dict[str, Any]:
        return {"items": [dead_letters.view(d) for d in dead_letters.newest(db, limit)]}

    @router.post("/dead-letters/{letter_id}/redrive", status_code=202)
    def redrive(letter_id: int = Path(ge=1, le=MAX_ROW_ID)) -> dict[str, Any]:
        return dead_letters.view(dead_letters.redrive(db, dapr, letter_id))

    return router


def subscriptions(db: Database) -> list[Subscription]:
    app_id = get_settings().app_id

    def on_event(
        kind: str, model: type[OrderConfirmed] | type[OrderCancelled]
    ) -> Callable[[dict[str, Any]], Outcome]:
        def handle(data: dict[str, Any]) -> Outcome:
            event = parse_message(model, data)
            # order-confirmed v2 says when the order was confirmed; a v1 event does not.
            confirmed_at = event.confirmed_at if isinstance(event, OrderConfirmed) else None
            sent = notifications.notify(
                db, event.order_id, event.customer_id, kind, confirmed_at=confirmed_at
            )
            return Outcome.SUCCESS if sent else Outcome.DUPLICATE

        return handle

    def on_dead_letter(event: dict[str, Any]) -> Outcome:
        letter = dead_letters.from_event(event)
        if not dead_letters.keep(db, letter):
            return Outcome.DUPLICATE
        DEAD_LETTERS_RECEIVED.labels(app_id, letter.topic or "unknown").inc()
        return Outcome.SUCCESS

    return [
        Subscription(ORDER_CONFIRMED, on_event("ORDER_CONFIRMED", OrderConfirmed)),
        Subscription(ORDER_CANCELLED, on_event("ORDER_CANCELLED", OrderCancelled)),
        # Everything that arrives here is kept, whatever its shape: nothing is dead-lettered.
        Subscription(DEAD_LETTERS, on_dead_letter, dead_letter=False, whole_event=True),
    ]
