"""Inventory HTTP API (reached through the gateway) and its Kafka consumers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter

from apps.common.contracts import (
    ORDER_CANCELLED,
    ORDER_CONFIRMED,
    RELEASE_STOCK,
    RESERVE_STOCK,
    STOCK_REPLIES,
    Identifier,
    Message,
    OrderCancelled,
    OrderConfirmed,
    ReleaseStock,
    ReserveStock,
    SetStock,
)
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.problems import Problem
from apps.common.pubsub import Outcome, Subscription, parse_message
from apps.inventory_service import stock

log = logging.getLogger(__name__)


class StockView(Message):
    product_id: str
    available: int
    reserved: int


def api_router(db: Database) -> APIRouter:
    router = APIRouter(prefix="/inventory")

    @router.put("/{product_id}")
    def put_stock(product_id: Identifier, body: SetStock) -> dict[str, Any]:
        item = stock.set_available(db, product_id, body.available)
        return StockView(
            product_id=item.product_id, available=item.available, reserved=item.reserved
        ).wire()

    @router.get("/{product_id}")
    def get_stock(product_id: Identifier) -> dict[str, Any]:
        item = stock.get_stock(db, product_id)
        if item is None:
            raise Problem(404, "Product not found", f"no stock record for {product_id}")
        return StockView(
            product_id=item.product_id, available=item.available, reserved=item.reserved
        ).wire()

    return router


def subscriptions(db: Database, dapr: DaprClient) -> list[Subscription]:
    def on_reserve(data: dict[str, Any]) -> Outcome:
        cmd = parse_message(ReserveStock, data)  # Rejected (a dead letter with its reason)
        reply, changed = stock.reserve_stock(db, cmd)
        # Re-sent on duplicates too: the first reply may be the one that got lost.
        dapr.publish(STOCK_REPLIES, reply.wire(), key=cmd.order_id)
        log.info(
            "reserve %s: %s",
            cmd.order_id,
            "reserved" if reply.reserved else reply.reason,
            extra={"order_id": cmd.order_id},
        )
        return Outcome.SUCCESS if changed else Outcome.DUPLICATE

    def releaser(
        model: type[ReleaseStock] | type[OrderCancelled],
    ) -> Callable[[dict[str, Any]], Outcome]:
        # release-stock (a saga compensation) and order-cancelled (the event) both give back
        # whatever the order holds; each has its own message shape.
        def on_release(data: dict[str, Any]) -> Outcome:
            order_id = parse_message(model, data).order_id
            changed = stock.release_stock(db, order_id)
            log.info(
                "release %s: %s",
                order_id,
                "released" if changed else "nothing held",
                extra={"order_id": order_id},
            )
            return Outcome.SUCCESS if changed else Outcome.DUPLICATE

        return on_release

    def on_confirmed(data: dict[str, Any]) -> Outcome:
        order_id = parse_message(OrderConfirmed, data).order_id
        return Outcome.SUCCESS if stock.commit_sale(db, order_id) else Outcome.DUPLICATE

    return [
        Subscription(RESERVE_STOCK, on_reserve),
        Subscription(RELEASE_STOCK, releaser(ReleaseStock)),
        Subscription(ORDER_CONFIRMED, on_confirmed),
        Subscription(ORDER_CANCELLED, releaser(OrderCancelled)),
    ]
