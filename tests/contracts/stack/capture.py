"""Reading what the producers really published: every record of the platform's topics from a
point in time on, straight from Kafka (librdkafka's consumer, confluent-kafka), as CloudEvents."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator

from confluent_kafka import Consumer, TopicPartition

from contracts.catalog import TOPICS
from deploy.stack.paths import RUN_DIR

BROKER = "127.0.0.1:9092"
CAPTURED_DIR = RUN_DIR / "contracts" / "captured"


def captured_name(topic: str, producer: str) -> str:
    return f"{topic}--{producer}.json"


def records_since(since_ms: int, deadline: float) -> Iterator[dict]:
    """Each record's CloudEvent (the record value) on every topic, from `since_ms` on, until the
    caller stops or `deadline` (monotonic) passes. Its own group: no app's offsets move."""
    consumer = Consumer(
        {
            "bootstrap.servers": BROKER,
            "group.id": f"contract-capture-{time.time_ns()}",
            "enable.auto.commit": False,
            "log_level": 0,
        }
    )
    try:
        metadata = consumer.list_topics(timeout=10)
        wanted = [
            TopicPartition(t.name, p, since_ms)
            for t in TOPICS
            for p in metadata.topics[t.name].partitions
        ]
        consumer.assign(consumer.offsets_for_times(wanted, timeout=10))
        while time.monotonic() < deadline:
            record = consumer.poll(0.5)
            if record is None or record.error():
                continue
            yield json.loads(record.value())
    finally:
        consumer.close()


def capture(
    needed: dict[tuple[str, str], Callable[[dict], bool]], since_ms: int, timeout: float = 60
) -> dict[tuple[str, str], dict]:
    """For each (topic, producer) the first CloudEvent from that producer (`source`) on that topic
    that `needed[(topic, producer)]` accepts; raises naming those never seen."""
    found: dict[tuple[str, str], dict] = {}
    for event in records_since(since_ms, time.monotonic() + timeout):
        key = (event.get("topic"), event.get("source"))
        if key in needed and key not in found and needed[key](event):
            found[key] = event
        if len(found) == len(needed):
            return found
    missing = sorted(set(needed) - set(found))
    raise AssertionError(f"never saw a message for (topic, producer): {missing}")
