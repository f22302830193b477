"""`waitSeconds` on order-service's own routes (GET /orders/{id}, POST /orders), over a real
SQLite database: an open order is waited for, another customer's is not found at once (a wait
would tell that it exists), and a step of the saga ends the wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.common.contracts import PlaceOrder
from apps.common.problems import install_problem_handlers
from apps.order_service import commands, routes
from apps.order_service.errors import install_order_errors
from apps.order_service.saga_record import SagaRecordsInDb
from apps.order_service.watch import OrderWatch


class SagasNotRun:
    """Placing schedules no workflow here: the test plays the saga's steps itself."""

    async def start(self, order: object) -> bool:
        return True


class AdmitsAll:
    async def admits(self) -> bool:
        return True


def client(db, watch: OrderWatch) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_order_errors(app)
    app.include_router(routes.router)
    app.dependency_overrides.update(
        {
            routes.database: lambda: db,
            routes.sagas: SagasNotRun,
            routes.admission: AdmitsAll,
            routes.watch: lambda: watch,
        }
    )
    return TestClient(app)


ORDER = {"customerId": "alice", "items": [{"productId": "book", "quantity": 1, "unitPrice": "5"}]}


def open_order(db) -> str:
    row, _ = commands.place_order(db, PlaceOrder.model_validate(ORDER), None, None)
    return row.order_id


def settle_once_waited_for(watch: OrderWatch, settle: Callable[[str], object]) -> None:
    """In the background, as the saga would: once a request waits for an order, `settle` it."""

    def run() -> None:
        deadline = time.monotonic() + 10  # the request under test gives up long before
        while not (waited := watch.waited_for()) and time.monotonic() < deadline:
            time.sleep(0.01)
        (order_id,) = waited
        settle(order_id)

    threading.Thread(target=run).start()


def test_another_customers_open_order_is_not_found_at_once(sqlite_db):
    order_id = open_order(sqlite_db)
    api = client(sqlite_db, OrderWatch(recheck_seconds=0.05))
    started = time.monotonic()
    resp = api.get(f"/orders/{order_id}", params={"waitSeconds": 3, "customerId": "bob"})
    assert resp.status_code == 404 and time.monotonic() - started < 1.5


def test_an_open_order_is_answered_as_it_is_when_the_wait_is_over(sqlite_db):
    order_id = open_order(sqlite_db)
    api = client(sqlite_db, OrderWatch(recheck_seconds=0.05))
    started = time.monotonic()
    resp = api.get(f"/orders/{order_id}", params={"waitSeconds": 1, "customerId": "alice"})
    assert resp.status_code == 200 and resp.json()["status"] == "PENDING"
    assert time.monotonic() - started >= 1


def test_the_saga_confirming_the_order_ends_the_wait(sqlite_db):
    order_id = open_order(sqlite_db)
    watch = OrderWatch(recheck_seconds=30)  # only the saga's step can end the wait in time
    api = client(sqlite_db, watch)
    settle_once_waited_for(watch, SagaRecordsInDb(sqlite_db, watch).complete_saga)
    started = time.monotonic()
    resp = api.get(f"/orders/{order_id}", params={"waitSeconds": 10})
    assert resp.json()["status"] == "CONFIRMED" and time.monotonic() - started < 5


def test_a_wait_longer_than_allowed_is_refused(sqlite_db):
    api = client(sqlite_db, OrderWatch())
    resp = api.get(f"/orders/{open_order(sqlite_db)}", params={"waitSeconds": 60})
    assert resp.status_code == 422


def test_placing_with_a_wait_answers_once_the_saga_has_confirmed_the_order(sqlite_db):
    watch = OrderWatch(recheck_seconds=30)  # only the saga's step can end the wait in time
    api = client(sqlite_db, watch)
    settle_once_waited_for(watch, SagaRecordsInDb(sqlite_db, watch).record_paid)
    started = time.monotonic()
    resp = api.post("/orders", json=ORDER, params={"waitSeconds": 10})
    assert resp.status_code == 202 and resp.json()["status"] == "CONFIRMED"
    assert time.monotonic() - started < 5


def test_placing_without_a_wait_answers_the_pending_order_at_once(sqlite_db):
    api = client(sqlite_db, OrderWatch())
    resp = api.post("/orders", json=ORDER)
    assert resp.status_code == 202 and resp.json()["status"] == "PENDING"
    assert api.post("/orders", json=ORDER, params={"waitSeconds": 11}).status_code == 422
