"""order-service HTTP API (called by the gateway through Dapr) and the stock-reply consumer."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import STOCK_REPLIES, Identifier, PlaceOrder, StockReply
from apps.common.db import Database
from apps.common.problems import Problem, problem_response
from apps.common.pubsub import Outcome, Rejected, Subscription, parse_message
from apps.common.telemetry import traceparent
from apps.order_service import orders
from apps.order_service.admission import SagaAdmission
from apps.order_service.operations import drive_to_end
from apps.order_service.sagas import Sagas
from apps.order_service.watch import OrderWatch
from workflows.steps import CANCEL_REQUESTED, STOCK_REPLY

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 10  # a client that waits longer asks again


def too_busy(retry_after_seconds: int) -> JSONResponse:
    response = problem_response(
        503,
        "Too many orders in flight",
        "the system is at its limit of sagas in flight; try again after Retry-After seconds",
    )
    response.headers["Retry-After"] = str(retry_after_seconds)
    return response


def api_router(
    db: Database, sagas: Sagas, admission: SagaAdmission, watch: OrderWatch
) -> APIRouter:
    router = APIRouter(prefix="/orders")

    def _status_of(
        order_id: str, customer_id: str | None = None
    ) -> Callable[[], Awaitable[str | None]]:
        async def status() -> str | None:  # cheap: the whole view is read once, at the end
            return await run_in_threadpool(orders.order_status, db, order_id, customer_id)

        return status

    @router.post("", status_code=202)
    async def place_order(
        order: PlaceOrder,
        idempotency_key: str | None = Header(default=None, max_length=200),
        wait_seconds: float = Query(default=0, alias="waitSeconds", ge=0, le=MAX_WAIT_SECONDS),
    ) -> JSONResponse:
        """The order as placed; with `waitSeconds`, as it is once its saga has settled it (or
        when they are up): placing and learning the outcome in one request."""
        if not await admission.admits() and not await run_in_threadpool(
            orders.placed_before, db, order.customer_id, idempotency_key
        ):
            return too_busy(admission.settings.retry_after_seconds)
        # The order's trace continues from this request's span (the gateway's trace): the saga,
        # its activities and every message they cause come back to it (apps/common/telemetry.py).
        row, new = await run_in_threadpool(
            orders.place_order, db, order, idempotency_key, traceparent()
        )
        if new:
            log.info("order placed", extra={"order_id": row.order_id})
        if not row.workflow_started:
            await sagas.start(row)  # if not now, the reconciler starts it
        if wait_seconds:
            await watch.until_settled(row.order_id, wait_seconds, _status_of(row.order_id))
            view = await run_in_threadpool(orders.order_view_by_id, db, row.order_id)
        else:
            view = await run_in_threadpool(orders.order_view, db, row)
        return JSONResponse(
            view, status_code=202, headers={"Location": f"/api/v1/orders/{row.order_id}"}
        )

    @router.get("")
    def list_orders(
        customer_id: Identifier | None = Query(default=None, alias="customerId"),
        status: Identifier | None = Query(default=None),
        saga_status: Identifier | None = Query(default=None, alias="sagaStatus"),
        limit: int = Query(default=20, ge=1, le=100),
        cursor: str | None = Query(default=None, max_length=500),
    ) -> dict:
        rows, next_cursor = orders.list_orders(
            db, customer_id, limit, cursor, status=status, saga_status=saga_status
        )
        return {"items": [orders.order_view(db, r) for r in rows], "next": next_cursor}

    # Before /{order_id}: these names are never order ids (those are UUIDs).
    @router.get("/counts")
    def order_counts(
        customer_id: Identifier | None = Query(default=None, alias="customerId"),
    ) -> dict:
        return orders.order_counts(db, customer_id)

    @router.get("/stuck")
    def stuck_orders(
        idle_seconds: int = Query(default=60, alias="idleSeconds", ge=1, le=7 * 86400),
        limit: int = Query(default=50, ge=1, le=200),
    ) -> dict:
        rows = orders.stuck_orders(db, timedelta(seconds=idle_seconds), limit)
        return {"items": [orders.order_view(db, r) for r in rows], "next": None}

    @router.get("/{order_id}")
    async def get_order(
        order_id: Identifier,
        wait_seconds: float = Query(default=0, alias="waitSeconds", ge=0, le=MAX_WAIT_SECONDS),
        customer_id: Identifier | None = Query(default=None, alias="customerId"),
    ) -> dict:
        """The order; with `waitSeconds`, once its saga has settled it (or when they are up).
        With `customerId`, another customer's order is not found, at once: a wait would tell
        that it exists."""

        if wait_seconds:
            await watch.until_settled(order_id, wait_seconds, _status_of(order_id, customer_id))
        view = await run_in_threadpool(orders.order_view_by_id, db, order_id, True)
        if view is not None and customer_id is not None and view["customerId"] != customer_id:
            view = None
        if view is None:
            raise Problem(404, "Order not found", f"no order {order_id}")
        return view

    @router.post("/{order_id}/drive", status_code=202)
    async def drive_order(order_id: Identifier) -> dict:
        row = await run_in_threadpool(orders.get_order, db, order_id)
        if row is None:
            raise Problem(404, "Order not found", f"no order {order_id}")
        if not await run_in_threadpool(orders.is_unsettled, db, row):
            raise Problem(409, "Order already at its end", f"order is {row.status}")
        action = await drive_to_end(sagas, row)
        row = await run_in_threadpool(orders.get_order, db, order_id)
        return {**await run_in_threadpool(orders.order_view, db, row), "action": action}

    @router.post("/{order_id}/cancel", status_code=202)
    async def cancel_order(order_id: Identifier) -> dict:
        decision = await run_in_threadpool(orders.begin_cancel, db, order_id)
        if decision == "in-flight":
            # The flag is already stored; the event only wakes a saga that waits for stock.
            try:
                await run_in_threadpool(
                    sagas.deliver_event, order_id, CANCEL_REQUESTED, {"orderId": order_id}
                )
            except Exception as exc:
                log.warning("cancel event not delivered now: %s", exc, extra={"order_id": order_id})
        elif decision == "confirmed":
            # The claim is stored. Its saga's previous run may not have recorded its end yet:
            # resumed once it has; the reconciler only if that takes too long.
            row = await run_in_threadpool(orders.get_order, db, order_id)
            if row is not None:
                await sagas.resume_once_ended(row)
        row = await run_in_threadpool(orders.get_order, db, order_id)
        return await run_in_threadpool(orders.order_view, db, row)

    @router.post("/{order_id}/ship")
    def ship_order(order_id: Identifier) -> dict:
        return orders.order_view(db, orders.ship(db, order_id))

    @router.post("/{order_id}/deliver")
    def deliver_order(order_id: Identifier) -> dict:
        return orders.order_view(db, orders.deliver(db, order_id))

    return router


def subscriptions(db: Database, sagas: Sagas) -> list[Subscription]:
    def on_stock_reply(data: dict) -> Outcome:
        reply = parse_message(StockReply, data)  # Rejected: a dead letter with the reason
        # An exception here (no worker connected yet) makes Dapr redeliver the reply. A saga's
        # instance id is its order's id, so a reply the engine takes is for an order of ours.
        if sagas.deliver_event(reply.order_id, STOCK_REPLY, reply.wire()):
            return Outcome.SUCCESS
        # Not delivered: no saga exists for the order (purged, or no such order at all). A saga
        # that has ended (it timed out and released the stock, or failed and a resumed run
        # will ask again) ignores it.
        if not orders.order_exists(db, reply.order_id):
            raise Rejected(f"no order {reply.order_id}")
        return Outcome.DUPLICATE

    return [Subscription(STOCK_REPLIES, on_stock_reply)]
