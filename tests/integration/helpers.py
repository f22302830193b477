"""Driving the public API the way a client would, and waiting for sagas to settle."""

from __future__ import annotations

import os
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from urllib.parse import quote

import httpx
from sqlalchemy import create_engine, text

from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST
from deploy.stack.records import records
from deploy.stack.secrets import postgres_password

TERMINAL = {"CONFIRMED", "CANCELLED"}
TOKEN_LIFETIME = timedelta(hours=12)  # outlasts any test session


def bearer(subject: str, role: Role) -> dict[str, str]:
    """An Authorization header, as `make token SUB=... ROLE=...` would sign it."""
    return {"Authorization": f"Bearer {issue(subject, role, TOKEN_LIFETIME)}"}


@contextmanager
def scratch_postgres_database(prefix: str) -> Iterator[str]:
    """A database of its own on the stack's PostgreSQL server, dropped afterwards: its URL."""
    server = f"postgres:{quote(postgres_password(), safe='')}@{HOST}:{POSTGRES_PORT}"
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"postgresql+psycopg://{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"postgresql://{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def client_for(
    base_url: str, subject: str, role: Role, timeout: float = 30, connections: int = 100
) -> httpx.Client:
    limits = httpx.Limits(max_connections=connections)
    return httpx.Client(
        base_url=base_url, timeout=timeout, headers=bearer(subject, role), limits=limits
    )


def stock(api: httpx.Client, product_id: str, available: int) -> None:
    resp = api.put(f"/inventory/{product_id}", json={"available": available})
    assert resp.status_code == 200, resp.text


def fund(api: httpx.Client, customer_id: str, balance: str) -> None:
    resp = api.put(f"/accounts/{customer_id}", json={"balance": balance})
    assert resp.status_code == 200, resp.text


def place(
    api: httpx.Client,
    customer_id: str,
    items: list[tuple[str, int, str]],
    key: str | None = None,
    wait_seconds: float = 0,
) -> httpx.Response:
    body = {
        "customerId": customer_id,
        "items": [{"productId": p, "quantity": q, "unitPrice": u} for p, q, u in items],
    }
    headers = {"Idempotency-Key": key} if key else {}
    params = {"waitSeconds": wait_seconds} if wait_seconds else None
    return api.post("/orders", json=body, headers=headers, params=params)


def wait_for(
    api: httpx.Client,
    order_id: str,
    statuses: set[str] = TERMINAL,
    saga: set[str] | None = None,
    timeout: float = 60,
    last_step: str | None = None,
) -> dict:
    """The order once it has one of `statuses` (and saga status, and, with `last_step`, that as
    its last completed step: NOTIFICATION_SENT is recorded just after CONFIRMED, not with it)."""
    deadline = time.monotonic() + timeout
    order: dict = {}
    while time.monotonic() < deadline:
        order = api.get(f"/orders/{order_id}").json()
        steps = order.get("saga", {}).get("completedSteps") or [None]
        if (
            order["status"] in statuses
            and (saga is None or order["saga"]["status"] in saga)
            and (last_step is None or steps[-1] == last_step)
        ):
            return order
        time.sleep(0.3)
    raise AssertionError(f"order {order_id} still {order.get('status')} / {order.get('saga')}")


def notifications(
    api: httpx.Client, order_id: str, wait_for_count: int = 1, timeout: float = 30
) -> list[dict]:
    deadline = time.monotonic() + timeout
    items: list[dict] = []
    while time.monotonic() < deadline:
        items = api.get("/notifications", params={"orderId": order_id}).json()["items"]
        if len(items) >= wait_for_count:
            return items
        time.sleep(0.3)
    return items


def inventory(api: httpx.Client, product_id: str) -> dict:
    return api.get(f"/inventory/{product_id}").json()


def balance(api: httpx.Client, customer_id: str) -> Decimal:
    return Decimal(api.get(f"/accounts/{customer_id}").json()["balance"])


def wait_stock(
    api: httpx.Client, product: str, available: int, reserved: int, timeout: float = 60
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        level = inventory(api, product)  # may briefly fail while a paused service recovers
        if (level.get("available"), level.get("reserved")) == (available, reserved):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{product}: {level}, wanted {available}/{reserved}")
        time.sleep(0.3)


def payments(api: httpx.Client, order_id: str) -> list[dict]:
    return api.get("/payments", params={"orderId": order_id}).json()["items"]


@contextmanager
def paused(name: str) -> Iterator[None]:
    """The stack's process `name` stopped (SIGSTOP) for the block, then resumed."""
    pid = next(r["pid"] for r in records() if r["name"] == name)
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)
