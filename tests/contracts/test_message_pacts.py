"""Consumer tests of every topic: each consumer's real subscription endpoint (apps/common/pubsub.py
and the app's routes.py, on a real SQLite database) is handed the CloudEvent the pact describes,
as daprd would POST it, and must handle it (not dead-letter it). Writes the message pacts
contracts/pacts/<consumer>-<producer>.json; tests/contracts/stack verifies them against the
messages the producers really publish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.common.contracts import DEAD_LETTERS
from apps.common.db import Database
from apps.common.pubsub import Subscription, subscription_router
from apps.inventory_service import routes as inventory
from apps.notification_service import routes as notification
from apps.order_service import routes as orders
from apps.order_service.store import Order
from contracts.catalog import TOPICS
from tests.contracts.messages import EXPECTED, ORDER_ID, cloud_event, description
from tests.contracts.pacts import new_pact, write
from workflows.steps import STOCK_REPLY


@dataclass
class PublisherRecording:
    """What a consumer publishes while handling a message (a reply, a dead letter)."""

    published: list[tuple[str, Any]] = field(default_factory=list)

    def publish(self, topic: str, data: Any, *, key: str | None = None) -> None:
        self.published.append((topic, data))


@dataclass
class SagasRecording:
    """The workflow engine's side of order-service: the events raised into sagas."""

    events: list[tuple[str, str, dict]] = field(default_factory=list)

    def deliver_event(self, order_id: str, event: str, data: dict) -> bool:
        self.events.append((order_id, event, data))
        return True


def consumer_subscriptions(
    app_id: str, db: Database, publisher: PublisherRecording, sagas: SagasRecording
) -> list[Subscription]:
    if app_id == "inventory-service":
        return inventory.subscriptions(db, publisher)  # type: ignore[arg-type]
    if app_id == "order-service":
        with db.session() as s:  # the order the reply is about
            s.add(
                Order(
                    order_id=ORDER_ID,
                    customer_id="contract-alice",
                    total_cents=2500,
                    request_hash="-",
                )
            )
            s.commit()
        return orders.subscriptions(db, sagas)  # type: ignore[arg-type]
    return notification.subscriptions(db)


@pytest.fixture
def consumer(tmp_path) -> Iterator:
    def open_consumer(app_id: str) -> tuple[TestClient, PublisherRecording, SagasRecording]:
        db = Database(f"sqlite:///{tmp_path}/{app_id}.db")
        db.create_tables()
        publisher, sagas = PublisherRecording(), SagasRecording()
        app = FastAPI()
        subs = consumer_subscriptions(app_id, db, publisher, sagas)
        app.include_router(subscription_router(subs, publisher))  # type: ignore[arg-type]
        return TestClient(app), publisher, sagas

    yield open_consumer


def pairs() -> list[tuple[str, str]]:
    return sorted({(c, p) for t in TOPICS for c in t.consumers for p in t.producers})


@pytest.mark.parametrize(("consumer_id", "producer"), pairs())
def test_consumer_handles_what_it_expects_from_producer(consumer, consumer_id, producer):
    topics = [t for t in TOPICS if consumer_id in t.consumers and producer in t.producers]
    pact = new_pact(consumer_id, producer)
    for t in topics:
        body = cloud_event(t.name, producer, EXPECTED[(consumer_id, t.name)])
        (
            pact.upon_receiving(description(t.name, producer), "Async")
            .with_body(body, "application/json")
            .with_metadata({"topic": t.name})
        )
    client, publisher, sagas = consumer(consumer_id)

    def handle(body: str | bytes | None, metadata: dict[str, object]) -> None:
        event = json.loads(body or "null")
        topic = metadata["topic"]
        answer = client.post(f"/events/{topic}", json=event)
        assert answer.status_code == 200 and answer.json() == {"status": "SUCCESS"}, answer.text
        refused = [data for to, data in publisher.published if to == DEAD_LETTERS]
        assert not refused, f"{consumer_id} dead-lettered a {topic} message: {refused}"

    pact.verify(handle, "Async")
    if consumer_id == "order-service":  # the reply reached the saga as it came
        assert sagas.events == [
            (ORDER_ID, STOCK_REPLY, {"orderId": ORDER_ID, "reserved": True, "reason": None})
        ]
    write(pact)
