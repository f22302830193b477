"""order-service HTTP API (called by the gateway through Dapr) and the stock-reply consumer.
The routes are the module's; what they use (the database, the sagas, admission, the watch) comes
from the app's state by `Depends`, so a test swaps any of them with `dependency_overrides`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from apps.common.contracts import (
    ORDER_SETTLED_HEADER,
    STOCK_REPLIES,
    Identifier,
    PlaceOrder,
    StockReply,
)
from apps.common.db import Database
from apps.common.problems import problem_response
from apps.common.pubsub import Outcome, Rejected, Subscription, parse_message
from apps.common.telemetry import traceparent
from apps.order_service import commands, queries, views
from apps.order_service.admission import SagaAdmission
from apps.order_service.commands import CancelDecision
from apps.order_service.errors import AlreadyAtEnd, OrderNotFound
from apps.order_service.operations import drive_to_end
from apps.order_service.sagas import Sagas
from apps.order_service.watch import OrderWatch
from workflows.steps import CANCEL_REQUESTED, STOCK_REPLY

log = logging.getLogger(__name__)
MAX_WAIT_SECONDS = 10  # a client that waits longer asks again
router = APIRouter(prefix="/orders")


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def sagas(request: Request) -> Sagas:
    found: Sagas = request.app.state.sagas
    return found


def admission(request: Request) -> SagaAdmission:
    gate: SagaAdmission = request.app.state.admission
    return gate


def watch(request: Request) -> OrderWatch:
    found: OrderWatch = request.app.state.watch
    return found


Db = Annotated[Database, Depends(database)]
SagasDep = Annotated[Sagas, Depends(sagas)]
WaitSeconds = Annotated[float, Query(alias="waitSeconds", ge=0, le=MAX_WAIT_SECONDS)]
CustomerFilter = Annotated[Identifier | None, Query(alias="customerId")]


def too_busy(retry_after_seconds: int) -> JSONResponse:
    response = problem_response(
        503,
        "Too many orders in flight",
        "the system is at its limit of sagas in flight; try again after Retry-After seconds",
    )
    response.headers["Retry-After"] = str(retry_after_seconds)
    return response


def _status_of(
    db: Database, order_id: str, customer_id: str | None = None
) -> Callable[[], Awaitable[str | None]]:
    async def status() -> str | None:  # cheap: the whole view is read once, at the end
        return await run_in_threadpool(views.order_status, db, order_id, customer_id)

    return status


def _flag(settled: bool) -> str:
    return "true" if settled else "false"


async def _view_now(db: Database, order_id: str) -> dict[str, Any]:
    view = await run_in_threadpool(views.order_view_by_id, db, order_id)
    if view is None:
        raise OrderNotFound(order_id)
    return view


@router.post("", status_code=202)
async def place_order(
    order: PlaceOrder,
    db: Db,
    sagas: SagasDep,
    gate: Annotated[SagaAdmission, Depends(admission)],
    settled: Annotated[OrderWatch, Depends(watch)],
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    wait_seconds: WaitSeconds = 0,
) -> JSONResponse:
    """The order as placed; with `waitSeconds`, as it is once its saga has settled it (or
    when they are up): placing and learning the outcome in one request."""
    if not await gate.admits() and not await run_in_threadpool(
        commands.placed_before, db, order.customer_id, idempotency_key
    ):
        return too_busy(gate.settings.retry_after_seconds)
    # The order's trace continues from this request's span (the gateway's trace): the saga,
    # its activities and every message they cause come back to it (apps/common/telemetry.py).
    row, new = await run_in_threadpool(
        commands.place_order, db, order, idempotency_key, traceparent()
    )
    if new:
        log.info("order placed", extra={"order_id": row.order_id})
    if not row.workflow_started:
        await sagas.start(row)  # if not now, the reconciler starts it
    headers = {"Location": f"/api/v1/orders/{row.order_id}"}
    if wait_seconds:
        done = await settled.until_settled(row.order_id, wait_seconds, _status_of(db, row.order_id))
        headers[ORDER_SETTLED_HEADER] = _flag(done)
        view = await run_in_threadpool(views.order_view_by_id, db, row.order_id)
    else:
        view = await run_in_threadpool(views.order_view, db, row)
    return JSONResponse(view, status_code=202, headers=headers)


@router.get("")
def list_orders(
    db: Db,
    customer_id: CustomerFilter = None,
    status: Annotated[Identifier | None, Query()] = None,
    saga_status: Annotated[Identifier | None, Query(alias="sagaStatus")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    rows, next_cursor = views.list_orders(
        db, customer_id, limit, cursor, status=status, saga_status=saga_status
    )
    return {"items": [views.order_view(db, r) for r in rows], "next": next_cursor}


# Before /{order_id}: these names are never order ids (those are UUIDs).
@router.get("/counts")
def order_counts(db: Db, customer_id: CustomerFilter = None) -> dict[str, Any]:
    return views.order_counts(db, customer_id)


@router.get("/stuck")
def stuck_orders(
    db: Db,
    idle_seconds: Annotated[int, Query(alias="idleSeconds", ge=1, le=7 * 86400)] = 60,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    rows = queries.stuck_orders(db, timedelta(seconds=idle_seconds), limit)
    return {"items": [views.order_view(db, r) for r in rows], "next": None}


@router.get("/{order_id}")
async def get_order(
    order_id: Identifier,
    db: Db,
    response: Response,
    settled: Annotated[OrderWatch, Depends(watch)],
    wait_seconds: WaitSeconds = 0,
    customer_id: CustomerFilter = None,
) -> dict[str, Any]:
    """The order; with `waitSeconds`, once its saga has settled it (or when they are up).
    With `customerId`, another customer's order is not found, at once: a wait would tell
    that it exists."""
    if wait_seconds:
        done = await settled.until_settled(
            order_id, wait_seconds, _status_of(db, order_id, customer_id)
        )
        response.headers[ORDER_SETTLED_HEADER] = _flag(done)
    view = await run_in_threadpool(views.order_view_by_id, db, order_id, True)
    if view is not None and customer_id is not None and view["customerId"] != customer_id:
        view = None
    if view is None:
        raise OrderNotFound(order_id)
    return view


@router.post("/{order_id}/drive", status_code=202)
async def drive_order(order_id: Identifier, db: Db, sagas: SagasDep) -> dict[str, Any]:
    row = await run_in_threadpool(views.get_order, db, order_id)
    if row is None:
        raise OrderNotFound(order_id)
    if not await run_in_threadpool(queries.is_unsettled, db, row):
        raise AlreadyAtEnd(f"order is {row.status}")
    action = await drive_to_end(sagas, row)
    return {**await _view_now(db, order_id), "action": action}


@router.post("/{order_id}/cancel", status_code=202)
async def cancel_order(
    order_id: Identifier, db: Db, sagas: SagasDep, later: BackgroundTasks
) -> dict[str, Any]:
    decision = await run_in_threadpool(commands.begin_cancel, db, order_id)
    if decision is CancelDecision.IN_FLIGHT:
        # The flag is already stored; the event only wakes a saga that waits for stock, after
        # the answer (the sidecar may be slow to take it while workflows move).
        later.add_task(_wake_for_cancel, sagas, order_id)
    elif decision is CancelDecision.CONFIRMED:
        # The claim is stored. Its saga's previous run may not have recorded its end yet:
        # resumed once it has, after the answer (which must come within the gateway's
        # per-attempt timeout, components/common/resiliency-gateway.yaml); the reconciler only
        # if that takes too long or this instance stops first.
        row = await run_in_threadpool(views.get_order, db, order_id)
        if row is not None:
            later.add_task(sagas.resume_once_ended, row)
    return await _view_now(db, order_id)


async def _wake_for_cancel(sagas: Sagas, order_id: str) -> None:
    try:
        await run_in_threadpool(
            sagas.deliver_event, order_id, CANCEL_REQUESTED, {"orderId": order_id}
        )
    except Exception as exc:
        log.warning("cancel event not delivered now: %s", exc, extra={"order_id": order_id})


@router.post("/{order_id}/ship")
def ship_order(order_id: Identifier, db: Db) -> dict[str, Any]:
    return views.order_view(db, commands.ship(db, order_id))


@router.post("/{order_id}/deliver")
def deliver_order(order_id: Identifier, db: Db) -> dict[str, Any]:
    return views.order_view(db, commands.deliver(db, order_id))


def subscriptions(db: Database, sagas: Sagas) -> list[Subscription]:
    def on_stock_reply(data: dict[str, Any]) -> Outcome:
        reply = parse_message(StockReply, data)  # Rejected: a dead letter with the reason
        # An exception here (no worker connected yet) makes Dapr redeliver the reply. A saga's
        # instance id is its order's id, so a reply the engine takes is for an order of ours.
        if sagas.deliver_event(reply.order_id, STOCK_REPLY, reply.wire()):
            return Outcome.SUCCESS
        # Not delivered: no saga exists for the order (purged, or no such order at all). A saga
        # that has ended (it timed out and released the stock, or failed and a resumed run
        # will ask again) ignores it.
        if not views.order_exists(db, reply.order_id):
            raise Rejected(f"no order {reply.order_id}")
        return Outcome.DUPLICATE

    return [Subscription(STOCK_REPLIES, on_stock_reply)]
