"""The contracts catch a break: order-service's order-confirmed event made by a modified copy of
the model (a field its consumers rely on renamed, or its type changed; the real model is left
alone) fails verification of both consumers' pacts, and the report names the field and the two
services. (tests/contracts/stack/test_http_providers.py does the same for an HTTP pact.)"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from pact import Verifier
from pydantic import create_model

from apps.common.contracts import Message, OrderConfirmed, Total
from apps.common.pubsub import Rejected, parse_message
from tests.contracts.messages import description
from tests.contracts.pacts import pact_file
from tests.contracts.stack.verify import run

CustomerRenamed = create_model(  # customerId -> customer
    "OrderConfirmed",
    __base__=Message,
    order_id=(str, ...),
    customer=(str, ...),
    total_amount=(Total, ...),
)
CustomerAsNumber = create_model(  # customerId: "c-1" -> 1
    "OrderConfirmed",
    __base__=Message,
    order_id=(str, ...),
    customer_id=(int, ...),
    total_amount=(Total, ...),
)
ORIGINAL = OrderConfirmed(order_id="o-1", customer_id="c-1", total_amount=Decimal("25.00"))
BREAKS = {
    "customerId": CustomerRenamed(order_id="o-1", customer="c-1", total_amount=Decimal("25.00")),
    "customerId as a number": CustomerAsNumber(
        order_id="o-1", customer_id=1, total_amount=Decimal("25.00")
    ),
}


def verify_event(consumer: str, data: dict) -> tuple[bool, str]:
    """Verifies `consumer`'s pact with order-service against an order-confirmed event carrying
    `data` in the envelope the pact itself gives as its example."""
    path = pact_file(consumer, "order-service")
    name = description("order-confirmed", "order-service")
    interaction = next(
        i for i in json.loads(path.read_text())["interactions"] if i["description"] == name
    )
    event = {**interaction["contents"]["content"], "data": data}
    message = {
        "contents": json.dumps(event).encode(),
        "metadata": {"topic": "order-confirmed"},
        "content_type": "application/json",
    }
    others = {i["description"]: message for i in json.loads(path.read_text())["interactions"]}
    verifier = Verifier("order-service").message_handler({**others, name: message}).add_source(path)
    verifier.filter(description=name)
    return run(verifier)


@pytest.mark.parametrize("consumer", ["inventory-service", "notification-service"])
def test_the_unmodified_event_passes(consumer):
    passed, report = verify_event(consumer, ORIGINAL.wire())
    assert passed, report


@pytest.mark.parametrize("field", sorted(BREAKS))
@pytest.mark.parametrize("consumer", ["inventory-service", "notification-service"])
def test_a_renamed_or_retyped_field_fails_naming_it_and_both_services(consumer, field):
    broken = BREAKS[field].wire()
    with pytest.raises(Rejected):  # the break is real: both consumers' model refuses it
        parse_message(OrderConfirmed, broken)
    passed, report = verify_event(consumer, broken)
    assert not passed, report
    assert f"Verifying a pact between {consumer} and order-service" in report
    name = field.split()[0]
    assert f"$.data.{name} ->" in report or f"missing the following keys: {name}" in report, report
