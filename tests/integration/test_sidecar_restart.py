"""order-service's sidecar killed (kill -9) and started again: the workflow worker connects
again, readiness says when it has, and a saga in flight at the time still ends right
(python-sdk #900, #857)."""

from __future__ import annotations

import os
import signal
import time
from decimal import Decimal

import httpx

from deploy.stack.control import start_one, stop_one
from deploy.stack.records import records
from tests.integration.helpers import (
    balance,
    fund,
    payments,
    place,
    stock,
    wait_for,
    wait_stock,
)

ORDER_SERVICE_READYZ = "http://127.0.0.1:8001/readyz"


def worker_check() -> str:
    try:
        return httpx.get(ORDER_SERVICE_READYZ, timeout=5).json()["checks"]["workflow-worker"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        return f"no answer: {exc!r}"


def signal_process(name: str, sig: signal.Signals) -> None:
    os.kill(next(r["pid"] for r in records() if r["name"] == name), sig)


def all_ready() -> bool:
    ports = (8001, 8002, 8003, 8004)
    try:
        return all(httpx.get(f"http://127.0.0.1:{p}/readyz", timeout=5).is_success for p in ports)
    except httpx.HTTPError:
        return False


def test_workflow_worker_reconnects_after_its_sidecar_restarts(api, unique):
    deadline = time.monotonic() + 90
    while not all_ready():  # a test before may have left an app recovering
        assert time.monotonic() < deadline, "the stack is not ready"
        time.sleep(0.5)
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    signal_process("payment-service", signal.SIGSTOP)
    try:
        in_flight = place(api, customer, [(product, 1, "4.00")]).json()["orderId"]
        wait_for(api, in_flight, {"PAYMENT_PENDING"})  # the saga is inside the payment step
        stop_one("order-service/daprd")
        # With no sidecar there is no worker, whatever the SDK's own flag says.
        assert worker_check().startswith("down"), worker_check()
        start_one("order-service/daprd")
    finally:
        signal_process("payment-service", signal.SIGCONT)
    restarted = time.monotonic()
    while (check := worker_check()) != "ok":
        assert time.monotonic() - restarted < 60, f"worker not connected 60s after restart: {check}"
        time.sleep(0.5)
    print(f"workflow worker connected {time.monotonic() - restarted:.1f}s after the restart")

    after = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
    assert wait_for(api, after, timeout=60)["status"] == "CONFIRMED"

    # The saga in flight ends, and its money and stock agree with how it ended.
    order = wait_for(api, in_flight, timeout=120)
    print(f"in-flight order: {order['status']} / {order['saga']}")
    if order["status"] == "CONFIRMED":
        assert order["saga"]["status"] == "COMPLETED"
        assert [p["status"] for p in payments(api, in_flight)] == ["CHARGED"]
        assert balance(api, customer) == Decimal("15.00")
        wait_stock(api, product, available=3, reserved=0)
    else:
        assert order["saga"]["status"] == "COMPENSATED", order["saga"]
        assert all(p["status"] in ("DECLINED", "REFUNDED") for p in payments(api, in_flight))
        assert balance(api, customer) == Decimal("19.00")
        wait_stock(api, product, available=4, reserved=0)
