"""The lag exporter's series (deploy/lag_exporter.py) from lags already read: per partition and
summed per group and topic, with kafka_exporter's names and labels. Reading them from Kafka is
tested against a real stack (tests/lag)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from deploy.lag_exporter import PartitionLag, families


class Fixed(Collector):
    def __init__(self, found: list[PartitionLag]) -> None:
        self.found = found

    def collect(self):  # type: ignore[no-untyped-def]
        return families(self.found)


def exposed(found: list[PartitionLag]) -> dict[str, dict[tuple, float]]:
    registry = CollectorRegistry()
    registry.register(Fixed(found))
    text = generate_latest(registry).decode()
    return {
        f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
        for f in text_string_to_metric_families(text)
    }


def test_lag_per_partition_and_summed_per_group_and_topic():
    found = [
        PartitionLag("notification-service", "order-confirmed", 0, 10, 14, 4),
        PartitionLag("notification-service", "order-confirmed", 1, -1, 3, 3),
        PartitionLag("inventory-service", "order-confirmed", 0, 14, 14, 0),
    ]
    series = exposed(found)
    key = (("consumergroup", "notification-service"), ("topic", "order-confirmed"))
    assert series["kafka_consumergroup_lag_sum"][key] == 7
    # A partition with nothing committed counts as offset 0 in the sum, -1 on its own.
    assert series["kafka_consumergroup_current_offset_sum"][key] == 10
    partition_1 = (key[0], ("partition", "1"), key[1])
    assert series["kafka_consumergroup_current_offset"][partition_1] == -1
    inventory = (("consumergroup", "inventory-service"), ("topic", "order-confirmed"))
    assert series["kafka_consumergroup_lag_sum"][inventory] == 0
    assert len(series["kafka_consumergroup_lag"]) == 3


def test_no_group_no_series():
    assert all(not samples for samples in exposed([]).values())
