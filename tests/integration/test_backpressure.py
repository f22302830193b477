"""Overload and retention: past its bound of sagas in flight the system sheds new orders with
503 and Retry-After instead of queueing them without limit, and finished workflows are purged.

The stack runs with MAX_SAGAS_IN_FLIGHT=30 and WORKFLOW_RETENTION=5s (conftest.py)."""

from __future__ import annotations

import os
import time

import httpx

from deploy.stack.secrets import dapr_headers
from tests.integration.helpers import TERMINAL, fund, paused, place, stock, wait_for
from tests.integration.test_reconciler import order_service_sidecar


def test_orders_over_the_bound_of_sagas_in_flight_are_shed_with_retry_after(api, unique):
    limit = int(os.environ["MAX_SAGAS_IN_FLIGHT"])
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, limit + 10)
    fund(api, customer, "1000.00")
    first = place(api, customer, [(product, 1, "1.00")], key=f"first-{unique}")
    assert first.status_code == 202, first.text
    answers = []
    with paused("inventory-service"):  # no stock replies: every saga stays in flight
        for _ in range(limit + 5):
            answers.append(place(api, customer, [(product, 1, "1.00")]))
        # An order already placed, asked for again with its Idempotency-Key, is still answered.
        replay = place(api, customer, [(product, 1, "1.00")], key=f"first-{unique}")
    accepted = [a for a in answers if a.status_code == 202]
    shed = [a for a in answers if a.status_code != 202]
    assert shed and len(accepted) < limit, [a.status_code for a in answers]
    for answer in shed:
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.headers["retry-after"] == "1"
        assert answer.json()["title"] == "Too many orders in flight"
    assert replay.status_code == 202 and replay.json()["orderId"] == first.json()["orderId"]
    # Everything accepted still ends; then new orders are taken again.
    for answer in [first, *accepted]:
        wait_for(api, answer.json()["orderId"], TERMINAL, timeout=90)
    later = place(api, customer, [(product, 1, "1.00")])
    assert later.status_code == 202, later.text
    assert wait_for(api, later.json()["orderId"], TERMINAL)["status"] == "CONFIRMED"


def test_a_finished_sagas_workflow_is_purged_after_the_retention_time(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 1)
    fund(api, customer, "5.00")
    order_id = place(api, customer, [(product, 1, "1.00")]).json()["orderId"]
    assert wait_for(api, order_id)["status"] == "CONFIRMED"
    url, headers = f"{order_service_sidecar()}/{order_id}", dapr_headers("order-service")
    deadline = time.monotonic() + 60
    while (resp := httpx.get(url, headers=headers, timeout=10)).status_code == 200:
        assert time.monotonic() < deadline, f"still kept: {resp.text}"
        time.sleep(0.5)
    assert resp.status_code == 404 and resp.json()["errorCode"] == "ERR_INSTANCE_ID_NOT_FOUND"
    # The order itself, and its saga's record, are the order database's and stay.
    assert wait_for(api, order_id)["saga"]["status"] == "COMPLETED"
