"""Kafka consumer lag in Prometheus metrics: `python -m deploy.lag_exporter [--port 9308]`.

Per consumer group, topic and partition: the group's committed offset, the partition's end
offset, and their difference, computed at each scrape the way Kafka's own
`kafka-consumer-groups --describe` computes its LAG column (OffsetFetch for the group, ListOffsets
for the end), through librdkafka's admin client. The series have the names and labels of
danielqsj/kafka_exporter (`kafka_consumergroup_lag{consumergroup,topic,partition}`,
`kafka_consumergroup_lag_sum{consumergroup,topic}`...), so rules and dashboards written for it
apply here unchanged; that exporter is not used because the Go module proxy refuses every
version of it (docs/consumer-lag.md). The stack starts this on 127.0.0.1:9308 (its usual port).

A group with no committed offset on a partition is counted from the partition's earliest
offset (the platform's groups start at the oldest message: components/common/pubsub.yaml).
When Kafka does not answer, a scrape has only `kafka_lag_exporter_scrape_success 0`.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterator
from dataclasses import dataclass

from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

DEFAULT_PORT = 9308
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class PartitionLag:
    group: str
    topic: str
    partition: int
    committed: int  # -1: the group committed nothing on this partition
    end: int
    lag: int


def _done(futures: dict) -> dict:
    return {key: future.result() for key, future in futures.items()}


def _offsets(admin: AdminClient, spec: OffsetSpec, parts: set[tuple[str, int]]) -> dict:
    if not parts:
        return {}
    wanted = {TopicPartition(t, p): spec for t, p in parts}
    answers = _done(admin.list_offsets(wanted, request_timeout=TIMEOUT_SECONDS))
    return {(tp.topic, tp.partition): info.offset for tp, info in answers.items()}


def committed_offsets(admin: AdminClient) -> dict[str, dict[tuple[str, int], int]]:
    """Group -> (topic, partition) -> committed offset, for every consumer group."""
    listed = admin.list_consumer_groups(request_timeout=TIMEOUT_SECONDS).result()
    found: dict[str, dict[tuple[str, int], int]] = {}
    for listing in listed.valid:
        request = [ConsumerGroupTopicPartitions(listing.group_id)]
        futures = admin.list_consumer_group_offsets(request, request_timeout=TIMEOUT_SECONDS)
        answer = futures[listing.group_id].result()
        found[listing.group_id] = {
            (tp.topic, tp.partition): tp.offset for tp in answer.topic_partitions or []
        }
    return found


def lags(admin: AdminClient) -> list[PartitionLag]:
    """Every group's lag on every partition it has committed an offset on. KafkaException if
    no broker answers (listing groups alone would answer an empty list then)."""
    admin.list_topics(timeout=TIMEOUT_SECONDS)
    groups = committed_offsets(admin)
    parts = {part for offsets in groups.values() for part in offsets}
    ends = _offsets(admin, OffsetSpec.latest(), parts)
    never = {part for offsets in groups.values() for part, o in offsets.items() if o < 0}
    starts = _offsets(admin, OffsetSpec.earliest(), never)
    found = []
    for group, offsets in sorted(groups.items()):
        for (topic, partition), committed in sorted(offsets.items()):
            end = ends[(topic, partition)]
            base = committed if committed >= 0 else starts[(topic, partition)]
            found.append(PartitionLag(group, topic, partition, committed, end, max(0, end - base)))
    return found


def families(found: list[PartitionLag]) -> list[GaugeMetricFamily]:
    per_partition = ["consumergroup", "topic", "partition"]
    current = GaugeMetricFamily(
        "kafka_consumergroup_current_offset", "Committed offset of a group", labels=per_partition
    )
    lag = GaugeMetricFamily(
        "kafka_consumergroup_lag",
        "End offset minus the group's committed offset",
        labels=per_partition,
    )
    current_sum = GaugeMetricFamily(
        "kafka_consumergroup_current_offset_sum",
        "Committed offsets of a group on a topic, summed over its partitions",
        labels=["consumergroup", "topic"],
    )
    lag_sum = GaugeMetricFamily(
        "kafka_consumergroup_lag_sum",
        "Lag of a group on a topic, summed over its partitions",
        labels=["consumergroup", "topic"],
    )
    sums: dict[tuple[str, str], list[int]] = {}
    for p in found:
        labels = [p.group, p.topic, str(p.partition)]
        current.add_metric(labels, p.committed)
        lag.add_metric(labels, p.lag)
        total = sums.setdefault((p.group, p.topic), [0, 0])
        total[0] += max(p.committed, 0)
        total[1] += p.lag
    for (group, topic), (offset, behind) in sorted(sums.items()):
        current_sum.add_metric([group, topic], offset)
        lag_sum.add_metric([group, topic], behind)
    return [current, lag, current_sum, lag_sum]


class LagCollector(Collector):
    """Asks Kafka at every scrape (a few milliseconds for this platform's groups)."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = AdminClient({"bootstrap.servers": bootstrap, "log_level": 0})

    def collect(self) -> Iterator[GaugeMetricFamily]:
        began = time.monotonic()
        try:
            found = lags(self.admin)
        except KafkaException:
            found = None
        ok = GaugeMetricFamily(
            "kafka_lag_exporter_scrape_success", "1 if Kafka answered this scrape, else 0"
        )
        ok.add_metric([], 0 if found is None else 1)
        took = GaugeMetricFamily(
            "kafka_lag_exporter_scrape_duration_seconds", "Time asking Kafka took"
        )
        took.add_metric([], time.monotonic() - began)
        yield ok
        yield took
        if found is not None:
            yield from families(found)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092", help="Kafka brokers, a,b,c")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    registry = CollectorRegistry()
    registry.register(LagCollector(args.bootstrap))
    server, thread = start_http_server(args.port, addr=args.host, registry=registry)
    print(f"kafka lag exporter on http://{args.host}:{args.port}/metrics", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
