"""Placing an order (idempotent per customer and Idempotency-Key) and the commands on a placed
one: ship, deliver, and the decision a cancel request takes against the saga finishing."""

from __future__ import annotations

import hashlib
import json
import uuid
from enum import StrEnum
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from apps.common.contracts import PlaceOrder
from apps.common.db import Database, rows_changed
from apps.common.money import to_cents
from apps.order_service.errors import (
    AlreadyShipped,
    IdempotencyConflict,
    OrderNotFound,
    StatusConflict,
)
from apps.order_service.saga_record import timeline_entry
from apps.order_service.store import EVENTS, LINES, ORDERS, SAGAS, Order, OrderSaga, utcnow
from apps.order_service.views import get_order
from workflows.statuses import SHIPPED, OrderStatus, SagaStatus


class CancelDecision(StrEnum):
    """What a cancel request means now (`begin_cancel`)."""

    NOOP = "noop"  # cancelled or cancelling already
    IN_FLIGHT = "in-flight"  # the running saga sees the flag and compensates
    CONFIRMED = "confirmed"  # claimed: the caller resumes the saga, which undoes the order


def request_hash(order: PlaceOrder) -> str:
    """Of the parsed request, so one request written two ways (`12.5` and `"12.50"`, other
    key order or spacing) is the same request: amounts count as exact cents."""
    lines = [[ln.product_id, ln.quantity, to_cents(ln.unit_price)] for ln in order.items]
    canonical = json.dumps([order.customer_id, lines], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def place_order(
    db: Database, order: PlaceOrder, idempotency_key: str | None, traceparent: str | None
) -> tuple[Order, bool]:
    """Stores a new PENDING order, or returns the one this customer's Idempotency-Key already
    created. The second value says whether the order is new."""
    digest = request_hash(order)
    if idempotency_key:
        existing = _by_key(db, order.customer_id, idempotency_key)
        if existing is not None:
            return _same_request(existing, digest), False
    total = sum(to_cents(line.unit_price) * line.quantity for line in order.items)
    trace_id = traceparent.split("-")[1] if traceparent and traceparent.count("-") == 3 else None
    row = Order(
        order_id=str(uuid.uuid4()),
        customer_id=order.customer_id,
        total_cents=total,
        idempotency_key=idempotency_key,
        request_hash=digest,
        trace_id=trace_id,
        traceparent=traceparent,
    )
    lines = [
        {
            "order_id": row.order_id,
            "product_id": line.product_id,
            "quantity": line.quantity,
            "unit_price_cents": to_cents(line.unit_price),
        }
        for line in order.items
    ]
    try:
        with db.write() as conn:
            conn.execute(insert(ORDERS), [_order_values(row)])  # first: its lines refer to it
            conn.execute(insert(LINES), lines)
            conn.execute(insert(SAGAS), [{"order_id": row.order_id, **_saga_defaults()}])
    except IntegrityError:  # the same customer and key raced us
        existing = _by_key(db, order.customer_id, idempotency_key) if idempotency_key else None
        if existing is None:
            raise
        return _same_request(existing, digest), False
    return row, True


def _order_values(row: Order) -> dict[str, Any]:
    return {column.name: getattr(row, column.name) for column in ORDERS.columns}


def _saga_defaults() -> dict[str, Any]:
    now = utcnow()
    return {
        "status": SagaStatus.STARTED,
        "completed_steps_json": "[]",
        "compensated_steps_json": "[]",
        "failure_reason": None,
        "cancel_requested": False,
        "started_at": now,
        "updated_at": now,
    }


def _same_request(existing: Order, digest: str) -> Order:
    if existing.request_hash != digest:
        raise IdempotencyConflict()
    return existing


def placed_before(db: Database, customer_id: str, key: str | None) -> bool:
    """Whether this customer's Idempotency-Key already placed an order (a replay)."""
    return key is not None and _by_key(db, customer_id, key) is not None


def _by_key(db: Database, customer_id: str, key: str) -> Order | None:
    with db.session() as s:
        query = select(Order).where(Order.customer_id == customer_id)
        return s.exec(query.where(Order.idempotency_key == key)).first()


def ship(db: Database, order_id: str) -> Order:
    # Lock the saga row first, as begin_cancel does: a ship and a cancel never both win.
    with db.session() as s:
        now = utcnow()
        changed = rows_changed(
            s.execute(
                update(OrderSaga)
                .where(col(OrderSaga.order_id) == order_id)
                .where(col(OrderSaga.status) == SagaStatus.COMPLETED)
                .values(updated_at=now)
            )
        ) and rows_changed(
            s.execute(
                update(Order)
                .where(col(Order.order_id) == order_id)
                .where(col(Order.status) == OrderStatus.CONFIRMED)
                .values(status=OrderStatus.SHIPPED, updated_at=now)
            )
        )
        s.commit() if changed else s.rollback()
    return _after_transition(db, order_id, bool(changed), "SHIPPED", "CONFIRMED")


def deliver(db: Database, order_id: str) -> Order:
    with db.session() as s:
        changed = rows_changed(
            s.execute(
                update(Order)
                .where(col(Order.order_id) == order_id)
                .where(col(Order.status) == OrderStatus.SHIPPED)
                .values(status=OrderStatus.DELIVERED, updated_at=utcnow())
            )
        )
        s.commit()
    return _after_transition(db, order_id, bool(changed), "DELIVERED", "SHIPPED")


def _after_transition(db: Database, order_id: str, changed: bool, to: str, needs: str) -> Order:
    order = get_order(db, order_id)
    if order is None:
        raise OrderNotFound(order_id)
    if not changed:
        raise StatusConflict(f"order is {order.status}; {to} needs {needs}")
    return order


def begin_cancel(db: Database, order_id: str) -> CancelDecision:
    """Decides what a cancel request means now, atomically against the saga finishing."""
    with db.session() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if order.status in SHIPPED:
            raise AlreadyShipped(f"order is {order.status}")
        flagged = rows_changed(
            s.execute(
                update(OrderSaga)
                .where(col(OrderSaga.order_id) == order_id)
                .where(col(OrderSaga.status) == SagaStatus.STARTED)
                .values(cancel_requested=True)
            )
        )
        # A confirmed order is claimed for cancellation (COMPLETED -> COMPENSATING); one
        # claimed before whose undoing has not finished yet is claimed again, so a retried
        # cancel finishes the job.
        claimable = [SagaStatus.COMPLETED]
        if order.status == OrderStatus.CONFIRMED:
            claimable.append(SagaStatus.COMPENSATING)
        claimed = (
            0
            if flagged
            else rows_changed(
                s.execute(
                    update(OrderSaga)
                    .where(col(OrderSaga.order_id) == order_id)
                    .where(col(OrderSaga.status).in_(claimable))
                    .values(status=SagaStatus.COMPENSATING, updated_at=utcnow())
                )
            )
        )
        if claimed:  # we hold the saga row now; a ship that committed first wins
            status = s.execute(select(Order.status).where(Order.order_id == order_id)).scalar()
            if status in SHIPPED:
                s.rollback()
                raise AlreadyShipped(f"order is {status}")
            event = timeline_entry(
                order_id, "saga", SagaStatus.COMPENSATING, utcnow(), "cancelled by request"
            )
            s.execute(insert(EVENTS), [event])
        s.commit()
    if flagged:
        return CancelDecision.IN_FLIGHT
    return CancelDecision.CONFIRMED if claimed else CancelDecision.NOOP
