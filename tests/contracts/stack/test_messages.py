"""Message contracts against what the producers really publish: a real order flow on the running
stack makes one message of each topic from each of its producers; they are read back from Kafka
(the CloudEvents daprd wrote, envelope and all), written to .run/contracts/captured/ for the
second-language check (tests/contracts/ts), and every consumer's message pact is verified
against them with the Pact verifier."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from pact import Verifier

from contracts.catalog import TOPICS
from tests.contracts.messages import description
from tests.contracts.pacts import PACT_DIR
from tests.contracts.stack.capture import CAPTURED_DIR, capture, captured_name
from tests.contracts.stack.verify import is_http, parties, run
from tests.integration.helpers import fund, place, stock, wait_for
from tests.integration.sidecars import publish_as_producer

MESSAGE_PACTS = sorted(p for p in PACT_DIR.glob("*.json") if not is_http(p))


def about(*ids: str):  # noqa: ANN201
    """Accepts a CloudEvent whose data (or dead letter's payload) is about one of `ids`."""

    def accepts(event: dict) -> bool:
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        payload = data.get("payload") if isinstance(data.get("payload"), dict) else {}
        return data.get("orderId") in ids or payload.get("orderId") in ids

    return accepts


@pytest.fixture(scope="module")
def captured(api) -> dict[tuple[str, str], dict]:
    unique = uuid.uuid4().hex[:12]
    since_ms = int(time.time() * 1000) - 2000
    product, payer, broke = f"cp-{unique}", f"cc-{unique}", f"cb-{unique}"
    stock(api, product, 10)
    fund(api, payer, "100.00")
    fund(api, broke, "0.00")
    confirmed = place(api, payer, [(product, 1, "5.00")]).json()["orderId"]
    declined = place(api, broke, [(product, 1, "5.00")]).json()["orderId"]
    wait_for(api, confirmed, {"CONFIRMED"})
    wait_for(api, declined, {"CANCELLED"})
    # Malformed messages, published as their producers publish: each consumer dead-letters them.
    bad_reservation, bad_reply, bad_event = (f"bad-{k}-{unique}" for k in "rse")
    publish_as_producer("reserve-stock", {"orderId": bad_reservation}, key=bad_reservation)
    publish_as_producer("stock-replies", {"orderId": bad_reply}, key=bad_reply)
    publish_as_producer("order-confirmed", {"orderId": bad_event}, key=bad_event)
    orders = about(confirmed, declined)
    found = capture(
        {
            ("reserve-stock", "order-service"): orders,
            ("release-stock", "order-service"): about(declined),
            ("stock-replies", "inventory-service"): orders,
            ("order-confirmed", "order-service"): about(confirmed),
            ("order-cancelled", "order-service"): about(declined),
            ("dead-letters", "inventory-service"): about(bad_reservation, bad_event),
            ("dead-letters", "order-service"): about(bad_reply),
            ("dead-letters", "notification-service"): about(bad_event),
        },
        since_ms,
    )
    CAPTURED_DIR.mkdir(parents=True, exist_ok=True)
    for old in CAPTURED_DIR.glob("*.json"):
        old.unlink()
    for (topic, producer), event in found.items():
        (CAPTURED_DIR / captured_name(topic, producer)).write_text(json.dumps(event, indent=2))
    return found


def test_every_topic_and_producer_was_captured(captured):
    assert set(captured) == {(t.name, p) for t in TOPICS for p in t.producers}


def test_every_consumer_and_producer_pair_has_a_message_pact():
    assert {parties(p) for p in MESSAGE_PACTS} == {
        (c, p) for t in TOPICS for c in t.consumers for p in t.producers
    }


@pytest.mark.parametrize("pact_file", MESSAGE_PACTS, ids=lambda p: p.stem)
def test_producer_messages_honour_consumer_pact(captured, pact_file):
    consumer, producer = parties(pact_file)
    messages = {
        description(topic, source): {
            "contents": json.dumps(event).encode(),
            "metadata": {"topic": topic},
            "content_type": "application/json",
        }
        for (topic, source), event in captured.items()
        if source == producer
    }
    verifier = Verifier(producer).message_handler(messages).add_source(pact_file)
    passed, report = run(verifier)
    assert passed, report
