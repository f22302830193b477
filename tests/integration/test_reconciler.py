"""An order whose saga's workflow is gone still ends right: the reconciler resumes it.

The workflow is ended from outside, through order-service's sidecar (Dapr's workflow API), while
the saga waits in a step; the order database still says the saga is in progress."""

from __future__ import annotations

import os
from decimal import Decimal

import httpx

from deploy.stack.paths import ROOT
from deploy.stack.runfile import load_runfile
from deploy.stack.secrets import dapr_headers
from tests.integration.helpers import (
    balance,
    fund,
    notifications,
    paused,
    payments,
    place,
    stock,
    wait_for,
    wait_stock,
)


def order_service_sidecar() -> str:
    apps = load_runfile(ROOT / "dapr.yaml", os.environ.get("PROFILE", "sqlite"))
    port = next(a.http_port for a in apps if a.app_id == "order-service")
    return f"http://127.0.0.1:{port}/v1.0/workflows/dapr"


def workflow_status(order_id: str) -> str:
    resp = httpx.get(
        f"{order_service_sidecar()}/{order_id}", headers=dapr_headers("order-service"), timeout=10
    )
    return resp.json()["runtimeStatus"]


def terminate(order_id: str) -> None:
    resp = httpx.post(
        f"{order_service_sidecar()}/{order_id}/terminate",
        headers=dapr_headers("order-service"),
        timeout=10,
    )
    assert resp.status_code == 202, resp.text


def test_terminated_saga_is_resumed_and_the_order_confirmed(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    with paused("payment-service"):
        order_id = place(api, customer, [(product, 2, "3.00")]).json()["orderId"]
        wait_for(api, order_id, {"PAYMENT_PENDING"})  # the saga waits out the payment outage
        terminate(order_id)
        assert workflow_status(order_id) == "TERMINATED"
    wait_for(
        api, order_id, {"CONFIRMED"}, saga={"COMPLETED"}, timeout=90, last_step="NOTIFICATION_SENT"
    )
    assert balance(api, customer) == Decimal("14.00")
    assert [p["status"] for p in payments(api, order_id)] == ["CHARGED"]
    assert [n["type"] for n in notifications(api, order_id)] == ["ORDER_CONFIRMED"]
    wait_stock(api, product, available=3, reserved=0)


def test_terminated_cancellation_is_finished_by_the_reconciler(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    order_id = place(api, customer, [(product, 1, "5.00")]).json()["orderId"]
    wait_for(api, order_id, {"CONFIRMED"})
    with paused("payment-service"):  # the refund cannot happen yet: the undoing waits
        assert api.post(f"/orders/{order_id}/cancel").status_code == 202
        wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPENSATING"})
        terminate(order_id)
    order = wait_for(api, order_id, {"CANCELLED"}, saga={"COMPENSATED"}, timeout=90)
    assert order["saga"]["compensatedSteps"] == ["PAYMENT_PROCESSED", "INVENTORY_RESERVED"]
    assert balance(api, customer) == Decimal("20.00")
    assert [p["status"] for p in payments(api, order_id)] == ["REFUNDED"]
    wait_stock(api, product, available=5, reserved=0)
