"""Reading a Kafka consumer assignment, as readiness does (apps/common/health.py). The real
stack's side is in tests/integration/test_subscriptions.py."""

from __future__ import annotations

import struct

from apps.common.health import _assigned_topics


def assignment(topics: dict[str, list[int]]) -> bytes:
    out = struct.pack(">hi", 1, len(topics))
    for topic, partitions in topics.items():
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name + struct.pack(">i", len(partitions))
        out += b"".join(struct.pack(">i", p) for p in partitions)
    return out + struct.pack(">i", -1)  # no user data


def test_assigned_topics_are_those_with_partitions():
    data = assignment({"reserve-stock": [0, 2], "release-stock": [], "order-confirmed": [1]})
    assert _assigned_topics(data) == {"reserve-stock", "order-confirmed"}
    assert _assigned_topics(b"") == set() and _assigned_topics(None) == set()
