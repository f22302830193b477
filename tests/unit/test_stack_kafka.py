"""The Kafka cluster id the stack formats its data directory with."""

from __future__ import annotations

import base64

from deploy.stack.kafka import kafka_cluster_id


def test_a_cluster_id_is_16_random_bytes_and_never_reads_as_an_option():
    # One id in 64 would start with "-" if drawn plainly; the storage tool then refused it as
    # an option with no value, and a fresh clone's stack did not start.
    ids = [kafka_cluster_id() for _ in range(2000)]
    assert not [i for i in ids if i.startswith("-")]
    assert len(set(ids)) == len(ids)
    assert all(len(base64.urlsafe_b64decode(i + "==")) == 16 for i in ids)
