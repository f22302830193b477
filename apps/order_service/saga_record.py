"""The saga's record in the order database: its input, each step it takes (safe to repeat,
only ever forward), what a resumed saga reads back, and the timeline of it all. `SagaRecordsInDb`
is this module as the saga's activities see it (workflows/activities.py `SagaRecords`)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert, select, update

from apps.common.db import AnyRow, Database
from apps.common.money import format_amount, from_cents
from apps.order_service import spending
from apps.order_service.store import EVENTS, LINES, ORDERS, SAGAS, Order, iso_utc, utcnow
from apps.order_service.watch import OrderWatch
from workflows.statuses import ORDER_FLOW, SAGA_FLOW, OrderStatus, SagaStatus, moves_forward
from workflows.steps import ORDER_CONFIRMED, PAYMENT_PROCESSED


def saga_input(db: Database, order: Order) -> dict[str, Any]:
    """What the workflow needs to run the saga for this order (plain JSON)."""
    with db.read() as conn:
        lines = conn.execute(select(LINES).where(LINES.c.order_id == order.order_id)).all()
    return {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "totalAmount": format_amount(from_cents(order.total_cents)),
        "items": [{"productId": ln.product_id, "quantity": ln.quantity} for ln in lines],
        "traceparent": order.traceparent,
    }


def mark_workflow_started(db: Database, order_id: str) -> None:
    with db.write() as conn:
        started = {"workflow_started": True}
        conn.execute(update(ORDERS).where(ORDERS.c.order_id == order_id), started)


def record_progress(
    db: Database,
    order_id: str,
    *,
    order_status: str | None = None,
    saga_status: str | None = None,
    completed: str | None = None,
    compensated: list[str] | None = None,
    failure_reason: str | None = None,
) -> bool:
    """Applies one saga step to the order and its saga record (safe to repeat), and answers
    whether a cancel has been requested meanwhile."""
    with db.write() as conn:
        # Locked, saga row first as everywhere else (no deadlock): concurrent steps of one
        # order must not lose each other's updates.
        saga, order_now = _lock_saga_and_order(conn, order_id)
        now = utcnow()
        events: list[dict[str, Any]] = []  # the timeline's entries for what changes now
        order_changes: dict[str, Any] = {"updated_at": now}
        saga_changes: dict[str, Any] = {"updated_at": now}
        if order_status and moves_forward(ORDER_FLOW, order_now, order_status):
            order_changes["status"] = order_status
        completed_steps = json.loads(saga.completed_steps_json)
        if completed and completed not in completed_steps:
            saga_changes["completed_steps_json"] = json.dumps([*completed_steps, completed])
            events.append(timeline_entry(order_id, "step", completed, now))
        if compensated:
            done = json.loads(saga.compensated_steps_json)
            timed = _compensations_timed(conn, order_id)
            for step in compensated:
                if step not in done:
                    done.append(step)
                if step not in timed:
                    events.append(timeline_entry(order_id, "compensation", step, now))
            saga_changes["compensated_steps_json"] = json.dumps(done)
        if saga_status and moves_forward(SAGA_FLOW, saga.status, saga_status):
            saga_changes["status"] = saga_status
            events.append(timeline_entry(order_id, "saga", saga_status, now, failure_reason))
        if failure_reason:
            saga_changes["failure_reason"] = failure_reason
        conn.execute(update(SAGAS).where(SAGAS.c.order_id == order_id), saga_changes)
        conn.execute(update(ORDERS).where(ORDERS.c.order_id == order_id), order_changes)
        if events:
            conn.execute(insert(EVENTS), events)
        return bool(saga.cancel_requested)


def _lock_saga_and_order(conn: Connection, order_id: str) -> tuple[AnyRow, str]:
    """The saga row and the order's status, both locked (PostgreSQL; SQLite's BEGIN IMMEDIATE
    already holds the database), saga first."""
    locked_saga = select(SAGAS).where(SAGAS.c.order_id == order_id).with_for_update()
    saga = conn.execute(locked_saga).first()
    status = conn.execute(
        select(ORDERS.c.status).where(ORDERS.c.order_id == order_id).with_for_update()
    ).scalar()
    if saga is None or status is None:
        raise LookupError(f"order {order_id} not found")
    return saga, status


def record_compensation(db: Database, order_id: str, step: str) -> None:
    """The time a step was undone (stock released, money refunded), for the saga's timeline;
    once per step (safe to repeat). The step joins `compensatedSteps` when the saga ends."""
    with db.write() as conn:
        conn.execute(  # serialised with the saga's writes
            select(SAGAS.c.order_id).where(SAGAS.c.order_id == order_id).with_for_update()
        )
        if step not in _compensations_timed(conn, order_id):
            entry = timeline_entry(order_id, "compensation", step, utcnow())
            conn.execute(insert(EVENTS), [entry])


def _compensations_timed(conn: Connection, order_id: str) -> set[str]:
    query = select(EVENTS.c.name).where(EVENTS.c.order_id == order_id)
    return set(conn.execute(query.where(EVENTS.c.kind == "compensation")).scalars())


def complete_saga(db: Database, order_id: str) -> bool:
    """CONFIRMED + COMPLETED in one transaction, unless a cancel was requested first (then
    False). True again for a saga that is already COMPLETED (the step is being repeated)."""
    with db.write() as conn:
        return _confirm(conn, order_id, paid=False)[1]


def record_paid(db: Database, order_id: str) -> tuple[bool, bool]:
    """The charge went through: PAID and its step, and unless a cancel was requested first,
    CONFIRMED and the saga COMPLETED as well, in one transaction. Answers (cancel requested,
    confirmed); safe to repeat (a COMPLETED saga answers confirmed again)."""
    with db.write() as conn:
        return _confirm(conn, order_id, paid=True)


def _confirm(conn: Connection, order_id: str, paid: bool) -> tuple[bool, bool]:
    saga, order_now = _lock_saga_and_order(conn, order_id)
    confirm = saga.status == SagaStatus.STARTED and not saga.cancel_requested
    answer = bool(saga.cancel_requested), confirm or saga.status == SagaStatus.COMPLETED
    if not (confirm or paid):
        return answer
    now = utcnow()
    completed_steps = json.loads(saga.completed_steps_json)
    steps = [*([PAYMENT_PROCESSED] if paid else []), *([ORDER_CONFIRMED] if confirm else [])]
    new_steps = [step for step in steps if step not in completed_steps]
    saga_changes: dict[str, Any] = {"updated_at": now}
    if new_steps:
        saga_changes["completed_steps_json"] = json.dumps([*completed_steps, *new_steps])
        entries = [timeline_entry(order_id, "step", s, now) for s in new_steps]
        conn.execute(insert(EVENTS), entries)
    if confirm:
        saga_changes["status"] = SagaStatus.COMPLETED
    order_changes: dict[str, Any] = {"updated_at": now}
    status = OrderStatus.CONFIRMED if confirm else OrderStatus.PAID
    if moves_forward(ORDER_FLOW, order_now, status):
        order_changes["status"] = status
    conn.execute(update(SAGAS).where(SAGAS.c.order_id == order_id), saga_changes)
    conn.execute(update(ORDERS).where(ORDERS.c.order_id == order_id), order_changes)
    return answer


def saga_in_progress(db: Database, order_id: str) -> bool:
    with db.read() as conn:
        status = conn.execute(select(SAGAS.c.status).where(SAGAS.c.order_id == order_id)).scalar()
    return status == SagaStatus.STARTED


def saga_state(db: Database, order_id: str) -> dict[str, Any]:
    """What a resumed saga needs to know to go on (workflows/order_saga.py `_resume`)."""
    with db.read() as conn:
        saga = saga_row(conn, order_id)
    if saga is None:
        raise LookupError(f"order {order_id} not found")
    return {
        "status": saga.status,
        "completedSteps": json.loads(saga.completed_steps_json),
        "cancelRequested": bool(saga.cancel_requested),
        "failureReason": saga.failure_reason,
    }


def saga_row(conn: Connection, order_id: str) -> AnyRow | None:
    return conn.execute(select(SAGAS).where(SAGAS.c.order_id == order_id)).first()


def timeline_entry(
    order_id: str, kind: str, name: str, at: datetime, detail: str | None = None
) -> dict[str, Any]:
    return {"order_id": order_id, "kind": kind, "name": name, "detail": detail, "at": at}


def saga_timeline(db: Database, order_id: str) -> list[dict[str, Any]]:
    """The saga's recorded steps, compensations and status changes in time order; `tookMs` is
    the time since the previous entry (the first: since the saga's record was created)."""
    with db.read() as conn:
        saga = saga_row(conn, order_id)
        return [] if saga is None else timeline(conn, saga)


def timeline(conn: Connection, saga: Any) -> list[dict[str, Any]]:
    query = select(EVENTS).where(EVENTS.c.order_id == saga.order_id)
    events = conn.execute(query.order_by(EVENTS.c.at, EVENTS.c.id)).all()
    entries, previous = [], saga.started_at.replace(tzinfo=None)
    for event in events:
        at = event.at.replace(tzinfo=None)
        entries.append(
            {
                "kind": event.kind,
                "name": event.name,
                "detail": event.detail,
                "at": iso_utc(at),
                "tookMs": max(0, round((at - previous).total_seconds() * 1000)),
            }
        )
        previous = at
    return entries


class SagaRecordsInDb:
    """The record as the activities use it; whoever waits for an order to settle (`watch`)
    hears of each change of its status."""

    def __init__(self, db: Database, watch: OrderWatch) -> None:
        self.db, self.watch = db, watch

    def saga_state(self, order_id: str) -> dict[str, Any]:
        return saga_state(self.db, order_id)

    def saga_in_progress(self, order_id: str) -> bool:
        return saga_in_progress(self.db, order_id)

    def record_progress(self, order_id: str, **update: Any) -> bool:
        cancel_requested = record_progress(self.db, order_id, **update)
        if update.get("order_status"):
            self.watch.changed(order_id)
        return cancel_requested

    def complete_saga(self, order_id: str) -> bool:
        completed = complete_saga(self.db, order_id)
        self.watch.changed(order_id)
        return completed

    def record_paid(self, order_id: str) -> tuple[bool, bool]:
        cancel_requested, confirmed = record_paid(self.db, order_id)
        self.watch.changed(order_id)
        return cancel_requested, confirmed

    def record_compensation(self, order_id: str, step: str) -> None:
        record_compensation(self.db, order_id, step)

    def spent_since(self, customer_id: str, since: datetime, excluding: str) -> Decimal:
        return spending.spent_since(self.db, customer_id, since, excluding)
