"""The reconciler's queries on a real SQLite database: which orders it looks at."""

from __future__ import annotations

import json
from datetime import timedelta

from apps.common.contracts import PlaceOrder
from apps.order_service import commands, queries, saga_record
from apps.order_service.store import Order, OrderSaga, utcnow
from workflows.steps import NOTIFICATION_SENT, ORDER_CONFIRMED

ORDER = {
    "customerId": "alice",
    "items": [{"productId": "book", "quantity": 1, "unitPrice": "2.00"}],
}


def placed(db, started=True, saga="STARTED", steps: tuple = (), age=60, status="PENDING") -> str:
    row, _new = commands.place_order(db, PlaceOrder.model_validate(ORDER), None, None)
    if started:
        saga_record.mark_workflow_started(db, row.order_id)
    with db.session() as s:
        record = s.get(OrderSaga, row.order_id)
        record.status, record.completed_steps_json = saga, json.dumps(list(steps))
        record.updated_at = utcnow() - timedelta(seconds=age)
        order = s.get(Order, row.order_id)
        order.status = status
        s.add_all([record, order])
        s.commit()
    return row.order_id


def test_unstarted_orders_are_found_once_old_enough(sqlite_db):
    order_id = placed(sqlite_db, started=False)
    assert [o.order_id for o in queries.unstarted_orders(sqlite_db, timedelta(0))] == [order_id]
    assert queries.unstarted_orders(sqlite_db, timedelta(hours=1)) == []


def test_unsettled_orders_are_the_idle_ones_whose_saga_has_not_ended(sqlite_db):
    in_progress = placed(sqlite_db)
    compensating = placed(sqlite_db, saga="COMPENSATING")
    not_announced = placed(
        sqlite_db, saga="COMPLETED", steps=(ORDER_CONFIRMED,), status="CONFIRMED"
    )
    placed(sqlite_db, age=0)  # moving: its workflow is at work
    placed(sqlite_db, started=False)  # the unstarted query's, not this one's
    placed(
        sqlite_db, saga="COMPLETED", steps=(ORDER_CONFIRMED, NOTIFICATION_SENT), status="CONFIRMED"
    )
    placed(sqlite_db, saga="COMPENSATED", status="CANCELLED")
    found = {o.order_id for o in queries.unsettled_orders(sqlite_db, timedelta(seconds=10))}
    assert found == {in_progress, compensating, not_announced}
