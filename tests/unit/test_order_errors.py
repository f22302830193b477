"""order-service's domain errors, each answered by the one handler with the problem document the
routes answered before (status, title, detail), over real routes and a real SQLite database."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.common.contracts import PlaceOrder
from apps.common.problems import PROBLEM_JSON, install_problem_handlers
from apps.order_service import commands, routes
from apps.order_service.errors import PROBLEMS, OrderError, install_order_errors
from apps.order_service.watch import OrderWatch

ORDER = {"customerId": "alice", "items": [{"productId": "book", "quantity": 1, "unitPrice": "5"}]}


class SagasNotRun:
    """Placing schedules no workflow here; an unknown order never reaches the sagas."""

    async def start(self, order: object) -> bool:
        return True


class AdmitsAll:
    async def admits(self) -> bool:
        return True


@pytest.fixture
def api(sqlite_db) -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_order_errors(app)
    app.include_router(routes.router)
    app.dependency_overrides.update(
        {
            routes.database: lambda: sqlite_db,
            routes.sagas: SagasNotRun,
            routes.admission: AdmitsAll,
            routes.watch: OrderWatch,
        }
    )
    return TestClient(app)


def problem(resp) -> tuple[int, str, str | None]:
    assert resp.headers["content-type"] == PROBLEM_JSON
    body = resp.json()
    return resp.status_code, body["title"], body.get("detail")


def test_every_domain_error_has_its_problem() -> None:
    def all_subclasses(cls: type) -> set[type]:
        return {c for s in cls.__subclasses__() for c in {s, *all_subclasses(s)}}

    assert all_subclasses(OrderError) == set(PROBLEMS)


def test_an_unknown_order_is_not_found(api) -> None:
    assert problem(api.post("/orders/nope/ship")) == (404, "Order not found", "no order nope")
    assert problem(api.post("/orders/nope/cancel")) == (404, "Order not found", "no order nope")


def test_a_command_at_the_wrong_status_conflicts(api, sqlite_db) -> None:
    row, _ = commands.place_order(sqlite_db, PlaceOrder.model_validate(ORDER), None, None)
    assert problem(api.post(f"/orders/{row.order_id}/ship")) == (
        409,
        "Order status conflict",
        "order is PENDING; SHIPPED needs CONFIRMED",
    )
    assert problem(api.post(f"/orders/{row.order_id}/deliver")) == (
        409,
        "Order status conflict",
        "order is PENDING; DELIVERED needs SHIPPED",
    )


def test_a_key_used_with_another_body_conflicts(api) -> None:
    key = {"Idempotency-Key": "key-1"}
    assert api.post("/orders", json=ORDER, headers=key).status_code == 202
    other = {**ORDER, "items": [{"productId": "pen", "quantity": 1, "unitPrice": "5"}]}
    assert problem(api.post("/orders", json=other, headers=key)) == (
        409,
        "Idempotency-Key reused",
        "this key was used with another body",
    )


def test_a_cursor_that_is_not_ours_is_a_bad_request(api) -> None:
    assert problem(api.get("/orders", params={"cursor": "%%%"})) == (
        400,
        "Invalid cursor",
        "use the `next` value of a previous page",
    )
