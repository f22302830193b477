"""Dead letters on a real SQLite database: what each kind of arrival records, once, and an
older table brought up to date. (Redrive publishes through a sidecar: tests/integration.)"""

from __future__ import annotations

import json
import sqlite3

import pytest

from apps.common.contracts import OrderCancelled
from apps.common.db import Database
from apps.common.pubsub import DeadLetterEnvelope, Rejected, parse_message
from apps.notification_service import dead_letters
from apps.notification_service.store import create_tables


def envelope_event(event_id: str, payload: object) -> dict:
    envelope = DeadLetterEnvelope(
        topic="reserve-stock", reason="bad items", source_app="inventory-service", payload=payload
    )
    return {"id": event_id, "topic": "dead-letters", "data": envelope.model_dump(by_alias=True)}


@pytest.mark.parametrize("payload", ["text", 42, 1.5, ["a", 1], None, True, {"orderId": "o1"}])
def test_a_consumers_envelope_keeps_topic_reason_source_and_payload(payload):
    letter = dead_letters.from_event(envelope_event("e1", payload))
    assert (letter.topic, letter.reason, letter.source_app) == (
        "reserve-stock",
        "bad items",
        "inventory-service",
    )
    assert json.loads(letter.payload) == payload


def test_a_cloud_event_the_sidecar_forwarded_is_retries_exhausted():
    event = {"id": "e2", "topic": "order-confirmed", "source": "order-service", "data": [1, 2]}
    letter = dead_letters.from_event(event)
    assert (letter.topic, letter.reason) == ("order-confirmed", dead_letters.RETRIES_EXHAUSTED)
    assert letter.source_app is None  # the publisher is in the event, the consumer is not
    assert json.loads(letter.payload) == [1, 2]


def test_anything_else_on_dead_letters_is_kept_as_it_came():
    letter = dead_letters.from_event({"id": "e3", "topic": "dead-letters", "data": 7})
    assert (letter.topic, letter.reason, letter.payload) == (
        "dead-letters",
        dead_letters.NOT_AN_ENVELOPE,
        "7",
    )
    assert dead_letters.from_event({}).payload == "null"


def test_a_redelivered_dead_letter_is_kept_once(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/n.db")
    create_tables(db)
    assert dead_letters.keep(db, dead_letters.from_event(envelope_event("e1", 1)))
    assert not dead_letters.keep(db, dead_letters.from_event(envelope_event("e1", 1)))
    assert dead_letters.keep(db, dead_letters.from_event(envelope_event("e2", 1)))
    assert [d.event_id for d in dead_letters.newest(db, 10)] == ["e2", "e1"]


def test_a_table_made_by_the_previous_version_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as con:
        con.execute(
            "CREATE TABLE dead_letter (id INTEGER PRIMARY KEY, topic VARCHAR,"
            " payload VARCHAR NOT NULL, received_at DATETIME NOT NULL)"
        )
        con.execute("INSERT INTO dead_letter VALUES (1, NULL, '{}', '2026-01-01 00:00:00')")
    db = Database(f"sqlite:///{path}")
    create_tables(db)
    create_tables(db)  # idempotent
    old, *_ = dead_letters.newest(db, 10)
    assert (old.id, old.reason, old.redriven_at) == (1, None, None)
    assert dead_letters.keep(db, dead_letters.from_event(envelope_event("e9", "x")))


def test_parse_message_names_the_offending_fields():
    with pytest.raises(Rejected, match=r"invalid OrderCancelled: .*customerId"):
        parse_message(OrderCancelled, {"orderId": "o1"})
