"""The reconciler's queries (and the operator's, GET /orders/stuck): orders whose saga never
started, or has not reached its end and has not moved for a while; and the count of sagas in
flight that admission control bounds."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import col, select

from apps.common.db import Database
from apps.order_service.saga_record import saga_row
from apps.order_service.store import Order, OrderSaga, utcnow
from workflows.statuses import ORDER_SETTLED, SAGA_IN_FLIGHT, SagaStatus
from workflows.steps import NOTIFICATION_SENT


def sagas_in_flight(db: Database) -> int:
    """Sagas that have not ended: what admission control bounds (admission.py)."""
    with db.session() as s:
        query = select(func.count()).select_from(OrderSaga)
        return s.exec(query.where(col(OrderSaga.status).in_(sorted(SAGA_IN_FLIGHT)))).one()


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
                col(OrderSaga.status).in_(sorted(SAGA_IN_FLIGHT))
                | col(Order.status).not_in(sorted(ORDER_SETTLED))
                | (
                    (col(OrderSaga.status) == SagaStatus.COMPLETED)
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
        saga = saga_row(conn, order.order_id)
    if not order.workflow_started or saga is None:
        return True
    return (
        saga.status in SAGA_IN_FLIGHT
        or order.status not in ORDER_SETTLED
        or (
            saga.status == SagaStatus.COMPLETED
            and NOTIFICATION_SENT not in json.loads(saga.completed_steps_json)
        )
    )


def stuck_orders(db: Database, idle_for: timedelta, limit: int) -> list[Order]:
    """Orders not at their end that have not moved for `idle_for`: the saga never started, or
    its record has not changed (what the reconciler looks for, with the operator's threshold)."""
    found = {o.order_id: o for o in unstarted_orders(db, idle_for, limit)}
    for order in unsettled_orders(db, idle_for, limit):
        found.setdefault(order.order_id, order)
    return sorted(found.values(), key=lambda o: o.created_at)[:limit]
