"""Consumer test of order-service calling payment-service: the saga's real activities
(workflows/activities.py, take_payment and refund_payment) call a Pact mock server standing in
for order-service's sidecar. Writes contracts/pacts/order-service-payment-service.json."""

from __future__ import annotations

from typing import Any

import httpx
from pact import match

from apps.common.dapr import DaprClient
from tests.contracts.pacts import invoke_path, new_pact, write
from workflows.activities import SagaActivities
from workflows.steps import Activity

PAYMENTS, JSON = "payment-service", "application/json"
CUSTOMER = "contract-bob"


class SagaRecordsInMemory:
    """The saga's record for one order (the real one is in the order database): no cancel."""

    def saga_state(self, order_id: str) -> dict:
        return {}

    def saga_in_progress(self, order_id: str) -> bool:
        return True

    def record_progress(self, order_id: str, **update: Any) -> bool:
        return False  # no cancel requested

    def complete_saga(self, order_id: str) -> bool:
        return False

    def record_paid(self, order_id: str) -> tuple[bool, bool]:
        # take_payment confirms the order after a charge, and confirming publishes
        # order-confirmed: a message, which the message pacts cover. Here the confirmation is
        # refused (as if the saga had ended meanwhile), so the activity's only call is the
        # charge.
        return False, False

    def record_compensation(self, order_id: str, step: str) -> None:
        pass


def order_id_from_state() -> dict:
    return {"body": {"$.orderId": {"type": "ProviderState", "expression": "${orderId}"}}}


def test_order_service_to_payment_service():
    pact = new_pact("order-service", PAYMENTS)
    result = {
        "paymentId": match.str("pay-1"),
        "orderId": match.str("o-charge"),
        "status": "CHARGED",
    }
    (
        pact.upon_receiving("a charge for an order")
        .given("contract-bob is funded")
        .with_request("POST", invoke_path(PAYMENTS, "payments/charge"))
        .with_body({"orderId": "o-charge", "customerId": CUSTOMER, "amount": "25.00"}, JSON)
        .with_generators(order_id_from_state(), "Request")
        .will_respond_with(200)
        .with_body(result, JSON)
    )
    (
        pact.upon_receiving("a charge the balance cannot cover")
        .given("contract-bob-poor has no money")
        .with_request("POST", invoke_path(PAYMENTS, "payments/charge"))
        .with_body(
            {"orderId": "o-declined", "customerId": "contract-bob-poor", "amount": "25.00"}, JSON
        )
        .with_generators(order_id_from_state(), "Request")
        .will_respond_with(200)
        .with_body(
            {**result, "status": "DECLINED", "reason": match.str("insufficient funds")}, JSON
        )
    )
    (
        pact.upon_receiving("a refund of a charged order")
        .given("contract-bob was charged for an order")
        .with_request("POST", invoke_path(PAYMENTS, "payments/refund"))
        .with_body({"orderId": "o-refund", "customerId": CUSTOMER}, JSON)
        .with_generators(order_id_from_state(), "Request")
        .will_respond_with(200)
        .with_body({**result, "status": "REFUNDED"}, JSON)
    )
    with pact.serve() as mock:
        sidecar = DaprClient()
        sidecar.http = httpx.Client(base_url=str(mock.url), timeout=10)
        activities = SagaActivities(SagaRecordsInMemory(), sidecar).by_name()
        take, refund = activities[Activity.TAKE_PAYMENT], activities[Activity.REFUND_PAYMENT]

        def order(order_id: str, customer: str = CUSTOMER) -> dict:
            return {
                "orderId": order_id,
                "customerId": customer,
                "totalAmount": "25.00",
                "items": [{"productId": "book", "quantity": 1}],
                "stockTimeoutSeconds": 30.0,
                "paymentDeadlineSeconds": 20.0,
            }

        charged = take(None, order("o-charge"))
        assert charged["status"] == "CHARGED" and charged["confirmed"] is False
        declined = take(None, order("o-declined", "contract-bob-poor"))
        assert declined["status"] == "DECLINED" and declined["reason"]
        assert refund(None, order("o-refund"))["status"] == "REFUNDED"
    write(pact)
