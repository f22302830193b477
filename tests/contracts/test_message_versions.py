"""Every topic's message versions are compatible under the topic's declared rule (jsoncompat,
contracts/message_compat.py), and the worked example holds: order-confirmed v2 adds the optional
`confirmedAt`, which notification-service uses (it measures how long the customer waited) and
older consumers ignore. A v1 message is read by the v2 consumers, a v2 message by the v1 model
and schema. Breaking changes (a renamed field, a retyped one, a new required one) fed to the
checker as modified copies of the published schema fail, naming the topic, the versions and the
field; the repository's files are left alone."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from prometheus_client import REGISTRY
from pydantic import create_model

from apps.common.contracts import DEAD_LETTERS, Identifier, Message, OrderConfirmed, Total
from apps.common.db import Database
from apps.common.pubsub import parse_message, subscription_router
from apps.inventory_service import routes as inventory
from apps.notification_service import routes as notification
from contracts.catalog import TOPICS, Rule, topic
from contracts.message_compat import check_pair, check_topic, reader, versions, writer
from tests.contracts.test_deliberate_break import verify_event

# The v1 model as it was published (before confirmedAt), for the old consumer's side.
OrderConfirmedV1 = create_model(
    "OrderConfirmed",
    __base__=Message,
    order_id=(Identifier, ...),
    customer_id=(Identifier, ...),
    total_amount=(Total, ...),
)
CONFIRMED_V1 = OrderConfirmedV1(order_id="o-v1", customer_id="c-1", total_amount=Decimal("25.00"))
CONFIRMED_V2 = OrderConfirmed(
    order_id="o-v2",
    customer_id="c-1",
    total_amount=Decimal("25.00"),
    confirmed_at=datetime(2026, 12, 7, 16, 0, tzinfo=UTC),
)


def published(name: str, version: int) -> dict[str, Any]:
    return versions(name)[version]


@pytest.mark.parametrize("t", TOPICS, ids=lambda t: t.name)
def test_every_version_is_compatible_with_every_earlier_one_under_its_rule(t):
    breaks = check_topic(t.name, versions(t.name), t.rule)
    assert breaks == [], "\n".join(map(str, breaks))


def test_the_v1_copy_here_is_the_published_v1():
    v1 = published("order-confirmed", 1)
    generated = OrderConfirmedV1.model_json_schema(mode="validation")
    assert generated == {k: v for k, v in v1.items() if k not in ("$schema", "$id")}


def test_a_v2_message_is_read_by_the_v1_model_and_schema():
    message = CONFIRMED_V2.wire()
    assert message["confirmedAt"] == "2026-12-07T16:00:00Z"
    old = parse_message(OrderConfirmedV1, message)  # what a v1 consumer parses
    assert (old.order_id, old.total_amount) == ("o-v2", Decimal("25.00"))
    v1 = published("order-confirmed", 1)
    assert list(Draft202012Validator(reader(v1)).iter_errors(message)) == []
    # As written (closed), v1 names what a v1 producer sends; a v1 consumer reads more.
    refused = [e.message for e in Draft202012Validator(v1).iter_errors(message)]
    assert refused == ["Additional properties are not allowed ('confirmedAt' was unexpected)"]


def test_a_v1_message_is_read_by_the_v2_model_and_schema():
    message = CONFIRMED_V1.wire()
    assert "confirmedAt" not in message
    assert parse_message(OrderConfirmed, message).confirmed_at is None
    v2 = published("order-confirmed", 2)
    assert list(Draft202012Validator(v2).iter_errors(message)) == []


@pytest.mark.parametrize("app_id", ["inventory-service", "notification-service"])
def test_a_v2_event_still_satisfies_each_consumers_pact(app_id):
    passed, report = verify_event(app_id, CONFIRMED_V2.wire())
    assert passed, report


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    """daprd's CloudEvent around an order-confirmed message from order-service."""
    return {
        "specversion": "1.0",
        "id": f"event-{data['orderId']}",
        "source": "order-service",
        "type": "com.dapr.event.sent",
        "datacontenttype": "application/json",
        "topic": "order-confirmed",
        "pubsubname": "orderpubsub",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": data,
    }


def consumer(app_id: str, tmp_path) -> tuple[TestClient, list]:
    db = Database(f"sqlite:///{tmp_path}/{app_id}.db")
    db.create_tables()
    published_by_consumer: list = []

    class Recorder:
        def publish(self, topic_name: str, data: Any, *, key: str | None = None) -> None:
            published_by_consumer.append((topic_name, data))

    subs = (
        inventory.subscriptions(db, Recorder())  # type: ignore[arg-type]
        if app_id == "inventory-service"
        else notification.subscriptions(db)
    )
    app = FastAPI()
    app.include_router(subscription_router(subs, Recorder()))  # type: ignore[arg-type]
    return TestClient(app), published_by_consumer


@pytest.mark.parametrize("app_id", ["inventory-service", "notification-service"])
def test_both_consumers_handle_v1_and_v2_events_and_only_v2_is_timed(app_id, tmp_path):
    client, sent = consumer(app_id, tmp_path)
    timed = {"kind": "ORDER_CONFIRMED"}
    before = REGISTRY.get_sample_value("notification_delay_seconds_count", timed) or 0.0
    for message in (CONFIRMED_V1.wire(), CONFIRMED_V2.wire()):
        answer = client.post("/events/order-confirmed", json=envelope(message))
        assert answer.status_code == 200, answer.text
        # inventory holds nothing for these orders (DUPLICATE: nothing to commit); never DROP
        assert answer.json()["status"] in ("SUCCESS", "DUPLICATE"), answer.text
    assert [data for to, data in sent if to == DEAD_LETTERS] == []
    after = REGISTRY.get_sample_value("notification_delay_seconds_count", timed) or 0.0
    assert after - before == (1 if app_id == "notification-service" else 0)


def renamed(schema: dict[str, Any]) -> dict[str, Any]:
    """customerId -> customer."""
    broken = copy.deepcopy(schema)
    broken["properties"]["customer"] = broken["properties"].pop("customerId")
    broken["required"] = [("customer" if r == "customerId" else r) for r in broken["required"]]
    return broken


def retyped(schema: dict[str, Any]) -> dict[str, Any]:
    """customerId: a string -> an integer."""
    broken = copy.deepcopy(schema)
    broken["properties"]["customerId"] = {"type": "integer", "title": "Customerid"}
    return broken


def required_added(schema: dict[str, Any]) -> dict[str, Any]:
    """A new field every consumer must find: couponCode."""
    broken = copy.deepcopy(schema)
    broken["properties"]["couponCode"] = {"type": "string"}
    broken["required"].append("couponCode")
    return broken


@pytest.mark.parametrize(
    ("change", "field"),
    [(renamed, "customer"), (retyped, "customerId"), (required_added, "couponCode")],
    ids=["renamed", "retyped", "new required field"],
)
def test_a_breaking_v3_fails_naming_topic_versions_and_field(change, field):
    v2 = published("order-confirmed", 2)
    breaks = check_pair("order-confirmed", (2, v2), (3, change(v2)), topic("order-confirmed").rule)
    assert breaks, f"{change.__doc__} passed"
    for found in breaks:
        assert str(found).startswith("order-confirmed v2 -> v3 ("), found
    assert any(field in b.detail for b in breaks), "\n".join(map(str, breaks))


def test_the_declared_rule_decides_a_new_required_field():
    """Old consumers ignore it (forward holds); new consumers miss it in old messages
    (backward fails)."""
    v2 = published("order-confirmed", 2)
    new = (3, required_added(v2))
    assert check_pair("order-confirmed", (2, v2), new, Rule.FORWARD) == []
    [backward] = check_pair("order-confirmed", (2, v2), new, Rule.BACKWARD)
    assert backward.direction == "backward" and "couponCode" in backward.detail


def test_the_schemas_handed_to_the_checker_are_the_published_ones():
    v2 = published("order-confirmed", 2)
    assert writer(v2)["additionalProperties"] is False
    assert "additionalProperties" not in reader(v2)
    assert set(reader(v2)["properties"]) == {"orderId", "customerId", "totalAmount", "confirmedAt"}
