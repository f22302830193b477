"""Order rules: placing (idempotent), the status machine, and the saga's recorded progress."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, func, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from apps.common.contracts import PlaceOrder
from apps.common.db import AnyRow, Database, rows_changed, table_of
from apps.common.money import format_amount, from_cents, to_cents
from apps.common.problems import Problem
from apps.order_service.store import Order, OrderLine, OrderSaga, SagaEvent, utcnow
from workflows.steps import NOTIFICATION_SENT, ORDER_CONFIRMED, PAYMENT_PROCESSED

ORDER_FLOW = ["PENDING", "PAYMENT_PENDING", "PAID", "CONFIRMED", "SHIPPED", "DELIVERED"]
SAGA_FLOW = ["STARTED", "COMPLETED", "COMPENSATING"]  # then COMPENSATED or FAILED, both final
IN_FLIGHT = ("STARTED", "COMPENSATING")  # a saga not yet at its end

# The saga's hot paths (placing, each step, the order as polled) use Core statements on these
# tables: the ORM's unit of work cost more CPU than the queries themselves.
ORDERS, LINES, SAGAS, EVENTS = (table_of(m) for m in (Order, OrderLine, OrderSaga, SagaEvent))


def _moves_forward(flow: list[str], current: str, new: str) -> bool:
    if current in ("CANCELLED", "COMPENSATED", "FAILED"):
        return False
    if new in ("CANCELLED", "COMPENSATED", "FAILED"):
        return current not in ("SHIPPED", "DELIVERED")
    return flow.index(new) > flow.index(current)


class IdempotencyConflict(Problem):
    def __init__(self) -> None:
        super().__init__(409, "Idempotency-Key reused", "this key was used with another body")


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
        "status": "STARTED",
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


def sagas_in_flight(db: Database) -> int:
    """Sagas that have not ended: what admission control bounds (admission.py)."""
    with db.session() as s:
        query = select(func.count()).select_from(OrderSaga)
        return s.exec(query.where(col(OrderSaga.status).in_(IN_FLIGHT))).one()


def _by_key(db: Database, customer_id: str, key: str) -> Order | None:
    with db.session() as s:
        query = select(Order).where(Order.customer_id == customer_id)
        return s.exec(query.where(Order.idempotency_key == key)).first()


def get_order(db: Database, order_id: str) -> Order | None:
    with db.session() as s:
        return s.get(Order, order_id)


def order_exists(db: Database, order_id: str) -> bool:
    with db.read() as conn:
        query = select(ORDERS.c.order_id).where(ORDERS.c.order_id == order_id)
        return conn.execute(query).first() is not None


def order_status(db: Database, order_id: str, customer_id: str | None = None) -> str | None:
    """The order's status; None if there is no such order (or it is not `customer_id`'s)."""
    query = select(ORDERS.c.status).where(ORDERS.c.order_id == order_id)
    if customer_id is not None:
        query = query.where(ORDERS.c.customer_id == customer_id)
    with db.read() as conn:
        return conn.execute(query).scalar()


def saga_input(db: Database, order: Order) -> dict[str, Any]:
    """What the workflow needs to run the saga for this order (plain JSON)."""
    with db.read() as conn:
        lines = conn.execute(sa_select(LINES).where(LINES.c.order_id == order.order_id)).all()
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


def unstarted_orders(db: Database, older_than: timedelta, limit: int = 50) -> list[Order]:
    cutoff = utcnow() - older_than  # aware UTC: SQLModel's DateTime stores it as UTC
    with db.session() as s:
        query = (
            select(Order)
            .where(col(Order.workflow_started).is_(False))
            .where(col(Order.created_at) < cutoff)
            .limit(limit)
        )
        return list(s.exec(query).all())


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
        # Only forward: an activity that runs again late must not undo a later step.
        if order_status and _moves_forward(ORDER_FLOW, order_now, order_status):
            order_changes["status"] = order_status
        completed_steps = json.loads(saga.completed_steps_json)
        if completed and completed not in completed_steps:
            saga_changes["completed_steps_json"] = json.dumps([*completed_steps, completed])
            events.append(_event(order_id, "step", completed, now))
        if compensated:
            done = json.loads(saga.compensated_steps_json)
            timed = _compensations_timed(conn, order_id)
            for step in compensated:
                if step not in done:
                    done.append(step)
                if step not in timed:
                    events.append(_event(order_id, "compensation", step, now))
            saga_changes["compensated_steps_json"] = json.dumps(done)
        if saga_status and _moves_forward(SAGA_FLOW, saga.status, saga_status):
            saga_changes["status"] = saga_status
            events.append(_event(order_id, "saga", saga_status, now, failure_reason))
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
    saga = conn.execute(
        sa_select(SAGAS).where(SAGAS.c.order_id == order_id).with_for_update()
    ).first()
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
            conn.execute(insert(EVENTS), [_event(order_id, "compensation", step, utcnow())])


def _compensations_timed(conn: Connection, order_id: str) -> set[str]:
    query = select(EVENTS.c.name).where(EVENTS.c.order_id == order_id)
    return set(conn.execute(query.where(EVENTS.c.kind == "compensation")).scalars())


def _event(
    order_id: str, kind: str, name: str, at: datetime, detail: str | None = None
) -> dict[str, Any]:
    return {"order_id": order_id, "kind": kind, "name": name, "detail": detail, "at": at}


def saga_timeline(db: Database, order_id: str) -> list[dict[str, Any]]:
    """The saga's recorded steps, compensations and status changes in time order; `tookMs` is
    the time since the previous entry (the first: since the saga's record was created)."""
    with db.read() as conn:
        saga = _saga_row(conn, order_id)
        return [] if saga is None else _timeline(conn, saga)


def _timeline(conn: Connection, saga: Any) -> list[dict[str, Any]]:
    query = sa_select(EVENTS).where(EVENTS.c.order_id == saga.order_id)
    events = conn.execute(query.order_by(EVENTS.c.at, EVENTS.c.id)).all()
    timeline, previous = [], saga.started_at.replace(tzinfo=None)
    for event in events:
        at = event.at.replace(tzinfo=None)
        timeline.append(
            {
                "kind": event.kind,
                "name": event.name,
                "detail": event.detail,
                "at": _utc(at),
                "tookMs": max(0, round((at - previous).total_seconds() * 1000)),
            }
        )
        previous = at
    return timeline


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
    """CONFIRMED and COMPLETED unless a cancel was requested first; with `paid`, PAID and its
    step whatever happens. Answers (cancel requested, confirmed)."""
    saga, order_now = _lock_saga_and_order(conn, order_id)
    confirm = saga.status == "STARTED" and not saga.cancel_requested
    answer = bool(saga.cancel_requested), confirm or saga.status == "COMPLETED"
    if not (confirm or paid):
        return answer
    now = utcnow()
    completed_steps = json.loads(saga.completed_steps_json)
    steps = [*([PAYMENT_PROCESSED] if paid else []), *([ORDER_CONFIRMED] if confirm else [])]
    new_steps = [step for step in steps if step not in completed_steps]
    saga_changes: dict[str, Any] = {"updated_at": now}
    if new_steps:
        saga_changes["completed_steps_json"] = json.dumps([*completed_steps, *new_steps])
        conn.execute(insert(EVENTS), [_event(order_id, "step", s, now) for s in new_steps])
    if confirm:
        saga_changes["status"] = "COMPLETED"
    order_changes: dict[str, Any] = {"updated_at": now}
    status = "CONFIRMED" if confirm else "PAID"
    if _moves_forward(ORDER_FLOW, order_now, status):
        order_changes["status"] = status
    conn.execute(update(SAGAS).where(SAGAS.c.order_id == order_id), saga_changes)
    conn.execute(update(ORDERS).where(ORDERS.c.order_id == order_id), order_changes)
    return answer


def saga_in_progress(db: Database, order_id: str) -> bool:
    with db.read() as conn:
        status = conn.execute(select(SAGAS.c.status).where(SAGAS.c.order_id == order_id)).scalar()
    return status == "STARTED"


def saga_state(db: Database, order_id: str) -> dict[str, Any]:
    """What a resumed saga needs to know to go on (workflows/order_saga.py `_resume`)."""
    with db.read() as conn:
        saga = _saga_row(conn, order_id)
    if saga is None:
        raise LookupError(f"order {order_id} not found")
    return {
        "status": saga.status,
        "completedSteps": json.loads(saga.completed_steps_json),
        "cancelRequested": bool(saga.cancel_requested),
        "failureReason": saga.failure_reason,
    }


def _saga_row(conn: Connection, order_id: str) -> AnyRow | None:
    return conn.execute(sa_select(SAGAS).where(SAGAS.c.order_id == order_id)).first()


def unsettled_orders(db: Database, idle_for: timedelta, limit: int = 50) -> list[Order]:
    """Orders whose saga has not reached its end (in the database) and has not moved for
    `idle_for`: not yet terminal, still compensating, or confirmed but not yet announced."""
    cutoff = utcnow() - idle_for
    with db.session() as s:
        query = (
            select(Order)
            .join(OrderSaga, col(OrderSaga.order_id) == col(Order.order_id))
            .where(col(Order.workflow_started).is_(True))
            .where(col(OrderSaga.updated_at) < cutoff)
            .where(
                col(OrderSaga.status).in_(IN_FLIGHT)
                | col(Order.status).not_in(("CONFIRMED", "CANCELLED", "SHIPPED", "DELIVERED"))
                | (
                    (col(OrderSaga.status) == "COMPLETED")
                    & col(OrderSaga.completed_steps_json).not_like(f"%{NOTIFICATION_SENT}%")
                )
            )
            .order_by(col(OrderSaga.updated_at))
            .limit(limit)
        )
        return list(s.exec(query).all())


def is_unsettled(db: Database, order: Order) -> bool:
    """Whether the order's saga has not reached its end (what `unsettled_orders` looks for,
    without the idle time): not started, in flight, the order not at an end, or confirmed but
    not yet announced."""
    with db.read() as conn:
        saga = _saga_row(conn, order.order_id)
    if not order.workflow_started or saga is None:
        return True
    return (
        saga.status in IN_FLIGHT
        or order.status not in ("CONFIRMED", "CANCELLED", "SHIPPED", "DELIVERED")
        or (
            saga.status == "COMPLETED"
            and NOTIFICATION_SENT not in json.loads(saga.completed_steps_json)
        )
    )


def ship(db: Database, order_id: str) -> Order:
    # Lock the saga row first, as begin_cancel does: a ship and a cancel never both win.
    with db.session() as s:
        now = utcnow()
        changed = rows_changed(
            s.execute(
                update(OrderSaga)
                .where(col(OrderSaga.order_id) == order_id)
                .where(col(OrderSaga.status) == "COMPLETED")
                .values(updated_at=now)
            )
        ) and rows_changed(
            s.execute(
                update(Order)
                .where(col(Order.order_id) == order_id)
                .where(col(Order.status) == "CONFIRMED")
                .values(status="SHIPPED", updated_at=now)
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
                .where(col(Order.status) == "SHIPPED")
                .values(status="DELIVERED", updated_at=utcnow())
            )
        )
        s.commit()
    return _after_transition(db, order_id, bool(changed), "DELIVERED", "SHIPPED")


def _after_transition(db: Database, order_id: str, changed: bool, to: str, needs: str) -> Order:
    order = get_order(db, order_id)
    if order is None:
        raise Problem(404, "Order not found", f"no order {order_id}")
    if not changed:
        raise Problem(409, "Order status conflict", f"order is {order.status}; {to} needs {needs}")
    return order


def begin_cancel(db: Database, order_id: str) -> str:
    """Decides what a cancel request means now, atomically against the saga finishing:
    'noop' (cancelled or cancelling already), 'in-flight' (the running saga will see the flag
    and compensate) or 'confirmed' (the caller resumes the saga, which undoes the order)."""
    with db.session() as s:
        order = s.get(Order, order_id)
        if order is None:
            raise Problem(404, "Order not found", f"no order {order_id}")
        if order.status in ("SHIPPED", "DELIVERED"):
            raise Problem(409, "Order already shipped", f"order is {order.status}")
        flagged = rows_changed(
            s.execute(
                update(OrderSaga)
                .where(col(OrderSaga.order_id) == order_id)
                .where(col(OrderSaga.status) == "STARTED")
                .values(cancel_requested=True)
            )
        )
        # A confirmed order is claimed for cancellation (COMPLETED -> COMPENSATING); one
        # claimed before whose undoing has not finished yet is claimed again, so a retried
        # cancel finishes the job.
        claimable = ["COMPLETED", *(["COMPENSATING"] if order.status == "CONFIRMED" else [])]
        claimed = (
            0
            if flagged
            else rows_changed(
                s.execute(
                    update(OrderSaga)
                    .where(col(OrderSaga.order_id) == order_id)
                    .where(col(OrderSaga.status).in_(claimable))
                    .values(status="COMPENSATING", updated_at=utcnow())
                )
            )
        )
        if claimed:  # we hold the saga row now; a ship that committed first wins
            status = s.execute(select(Order.status).where(Order.order_id == order_id)).scalar()
            if status in ("SHIPPED", "DELIVERED"):
                s.rollback()
                raise Problem(409, "Order already shipped", f"order is {status}")
            event = _event(order_id, "saga", "COMPENSATING", utcnow(), "cancelled by request")
            s.execute(insert(EVENTS), [event])
        s.commit()
    if flagged:
        return "in-flight"
    return "confirmed" if claimed else "noop"


def list_orders(
    db: Database,
    customer_id: str | None,
    limit: int,
    cursor: str | None,
    status: str | None = None,
    saga_status: str | None = None,
) -> tuple[list[Order], str | None]:
    """Newest first, one customer's or (customer_id None) everyone's, optionally only those with
    an order status and/or a saga status; the cursor is the (created_at, order_id) of the last
    order returned."""
    with db.session() as s:
        query = select(Order)
        if customer_id is not None:
            query = query.where(Order.customer_id == customer_id)
        if status:
            query = query.where(Order.status == status)
        if saga_status:
            query = query.join(OrderSaga, col(OrderSaga.order_id) == col(Order.order_id)).where(
                OrderSaga.status == saga_status
            )
        if cursor:
            created, last_id = _decode_cursor(cursor)
            query = query.where(
                (col(Order.created_at) < created)
                | ((col(Order.created_at) == created) & (col(Order.order_id) < last_id))
            )
        query = query.order_by(col(Order.created_at).desc(), col(Order.order_id).desc())
        rows = list(s.exec(query.limit(limit + 1)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1]) if more and rows else None
    return rows, next_cursor


def order_counts(db: Database, customer_id: str | None) -> dict[str, Any]:
    """How many orders there are per order status and per saga status (one customer's, or
    everyone's)."""
    with db.session() as s:
        by_order = select(Order.status, func.count()).group_by(Order.status)
        by_saga = (
            select(OrderSaga.status, func.count())
            .join(Order, col(Order.order_id) == col(OrderSaga.order_id))
            .group_by(OrderSaga.status)
        )
        if customer_id is not None:
            by_order = by_order.where(Order.customer_id == customer_id)
            by_saga = by_saga.where(Order.customer_id == customer_id)
        orders_by_status = {status: n for status, n in s.exec(by_order).all()}
        sagas_by_status = {status: n for status, n in s.exec(by_saga).all()}
    return {
        "total": sum(orders_by_status.values()),
        "byStatus": dict(sorted(orders_by_status.items())),
        "bySagaStatus": dict(sorted(sagas_by_status.items())),
    }


def stuck_orders(db: Database, idle_for: timedelta, limit: int) -> list[Order]:
    """Orders not at their end that have not moved for `idle_for`: the saga never started, or
    its record has not changed (what the reconciler looks for, with the operator's threshold)."""
    found = {o.order_id: o for o in unstarted_orders(db, idle_for, limit)}
    for order in unsettled_orders(db, idle_for, limit):
        found.setdefault(order.order_id, order)
    return sorted(found.values(), key=lambda o: o.created_at)[:limit]


def _encode_cursor(order: Order) -> str:
    raw = f"{order.created_at.isoformat()}|{order.order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), order_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise Problem(400, "Invalid cursor", "use the `next` value of a previous page") from exc


def order_view(db: Database, order: Order | AnyRow, timeline: bool = False) -> dict[str, Any]:
    """The order as the API shows it; with `timeline`, the saga's timeline too."""
    with db.read() as conn:
        return _view(conn, order, _saga_row(conn, order.order_id), timeline)


def order_view_by_id(db: Database, order_id: str, timeline: bool = False) -> dict[str, Any] | None:
    """The order as the API shows it, read in one snapshot (what a client polls); None if
    there is no such order."""
    saga_columns = [c.label(f"saga_{c.name}") for c in SAGAS.columns]
    query = (
        sa_select(ORDERS, *saga_columns)
        .outerjoin(SAGAS, SAGAS.c.order_id == ORDERS.c.order_id)
        .where(ORDERS.c.order_id == order_id)
    )
    with db.read() as conn:
        row = conn.execute(query).first()
        if row is None:
            return None
        saga = (
            None
            if row.saga_order_id is None
            else SimpleNamespace(**{c.name: row._mapping[f"saga_{c.name}"] for c in SAGAS.columns})
        )
        return _view(conn, row, saga, timeline)


def _view(conn: Connection, order: Order | AnyRow, saga: Any, timeline: bool) -> dict[str, Any]:
    lines = conn.execute(
        sa_select(LINES).where(LINES.c.order_id == order.order_id).order_by(LINES.c.id)
    ).all()
    return {
        "orderId": order.order_id,
        "customerId": order.customer_id,
        "status": order.status,
        "totalAmount": format_amount(from_cents(order.total_cents)),
        "items": [
            {
                "productId": ln.product_id,
                "quantity": ln.quantity,
                "unitPrice": format_amount(from_cents(ln.unit_price_cents)),
            }
            for ln in lines
        ],
        "saga": {
            "status": saga.status if saga else None,
            "completedSteps": json.loads(saga.completed_steps_json) if saga else [],
            "compensatedSteps": json.loads(saga.compensated_steps_json) if saga else [],
            "failureReason": saga.failure_reason if saga else None,
            "startedAt": _utc(saga.started_at) if saga else None,
            **({"timeline": _timeline(conn, saga) if saga else []} if timeline else {}),
        },
        "traceId": order.trace_id,
        "createdAt": _utc(order.created_at),
        "updatedAt": _utc(order.updated_at),
    }


def _utc(moment: datetime) -> str:
    # SQLite hands back naive datetimes; everything stored is UTC.
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
