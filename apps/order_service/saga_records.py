"""The saga's record in the order database, as the saga's activities see it
(workflows/activities.py `SagaRecords`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from apps.common.db import Database
from apps.order_service import orders, spending
from apps.order_service.watch import OrderWatch


class SagaRecordsInDb:
    """Whoever waits for an order to settle (`watch`) hears of each change of its status."""

    def __init__(self, db: Database, watch: OrderWatch) -> None:
        self.db, self.watch = db, watch

    def saga_state(self, order_id: str) -> dict[str, Any]:
        return orders.saga_state(self.db, order_id)

    def saga_in_progress(self, order_id: str) -> bool:
        return orders.saga_in_progress(self.db, order_id)

    def record_progress(self, order_id: str, **update: Any) -> bool:
        cancel_requested = orders.record_progress(self.db, order_id, **update)
        if update.get("order_status"):
            self.watch.changed(order_id)
        return cancel_requested

    def complete_saga(self, order_id: str) -> bool:
        completed = orders.complete_saga(self.db, order_id)
        self.watch.changed(order_id)
        return completed

    def record_paid(self, order_id: str) -> tuple[bool, bool]:
        cancel_requested, confirmed = orders.record_paid(self.db, order_id)
        self.watch.changed(order_id)
        return cancel_requested, confirmed

    def record_compensation(self, order_id: str, step: str) -> None:
        orders.record_compensation(self.db, order_id, step)

    def spent_since(self, customer_id: str, since: datetime, excluding: str) -> Decimal:
        return spending.spent_since(self.db, customer_id, since, excluding)
