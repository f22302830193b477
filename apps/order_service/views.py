"""Orders as the API shows them: one order (read in one snapshot, as a client polls it), a
page of orders newest first with its cursor, and the counts per status."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Connection, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from apps.common.db import AnyRow, Database
from apps.common.money import format_amount, from_cents
from apps.order_service import saga_record
from apps.order_service.errors import InvalidCursor
from apps.order_service.store import LINES, ORDERS, SAGAS, Order, OrderSaga, iso_utc


def get_order(db: Database, order_id: str) -> Order | None:
    with db.session() as s:
        return s.get(Order, order_id)


def order_exists(db: Database, order_id: str) -> bool:
    with db.read() as conn:
        query = sa_select(ORDERS.c.order_id).where(ORDERS.c.order_id == order_id)
        return conn.execute(query).first() is not None


def order_status(db: Database, order_id: str, customer_id: str | None = None) -> str | None:
    """The order's status; None if there is no such order (or it is not `customer_id`'s)."""
    query = sa_select(ORDERS.c.status).where(ORDERS.c.order_id == order_id)
    if customer_id is not None:
        query = query.where(ORDERS.c.customer_id == customer_id)
    with db.read() as conn:
        status: str | None = conn.execute(query).scalar()
        return status


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


def _encode_cursor(order: Order) -> str:
    raw = f"{order.created_at.isoformat()}|{order.order_id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        created, order_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(created), order_id
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor() from exc


def order_view(db: Database, order: Order | AnyRow, timeline: bool = False) -> dict[str, Any]:
    """The order as the API shows it; with `timeline`, the saga's timeline too."""
    with db.read() as conn:
        return _view(conn, order, saga_record.saga_row(conn, order.order_id), timeline)


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
            "startedAt": iso_utc(saga.started_at) if saga else None,
            **({"timeline": saga_record.timeline(conn, saga) if saga else []} if timeline else {}),
        },
        "traceId": order.trace_id,
        "createdAt": iso_utc(order.created_at),
        "updatedAt": iso_utc(order.updated_at),
    }
