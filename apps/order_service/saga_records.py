"""The saga's record in the order database, as the saga's activities see it
(workflows/activities.py `SagaRecords`)."""

from __future__ import annotations

from typing import Any

from apps.common.db import Database
from apps.order_service import orders


class SagaRecordsInDb:
    def __init__(self, db: Database) -> None:
        self.db = db

    def saga_state(self, order_id: str) -> dict:
        return orders.saga_state(self.db, order_id)

    def saga_in_progress(self, order_id: str) -> bool:
        return orders.saga_in_progress(self.db, order_id)

    def record_progress(self, order_id: str, **update: Any) -> bool:
        return orders.record_progress(self.db, order_id, **update)

    def complete_saga(self, order_id: str) -> bool:
        return orders.complete_saga(self.db, order_id)

    def record_compensation(self, order_id: str, step: str) -> None:
        orders.record_compensation(self.db, order_id, step)
