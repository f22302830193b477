"""Asking the stack's Kafka (deploy/stack/kafka.py) through librdkafka's admin client: a JVM
command-line tool takes seconds to start on this 2-core machine, the admin client answers in
milliseconds. Its own logging is off: failures come back as exceptions. The one question asked
of Kafka's own tool instead is under-replicated partitions (under_replicated), as an operator
asks it during a rolling restart."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from deploy.stack.kafka import Broker, bootstrap, cluster, replication

JAVA = shutil.which("java") or "java"
# Kafka's command-line tools are short-lived: small heap, quick start-up.
TOOL_JVM = ["-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]


def kafka_admin(servers: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": servers, "log_level": 0})


def live_brokers(servers: str, timeout: float = 2.0) -> set[int]:
    """Node ids of the brokers the cluster's metadata lists (registered, not fenced)."""
    return set(kafka_admin(servers).list_topics(timeout=timeout).brokers)


def kafka_answers(count: int = 1, node_id: int | None = None) -> bool:
    """True once the cluster serves metadata with every broker in it; given node_id, once that
    broker itself answers and is in it (registered and unfenced: a broker just killed stays
    in the metadata until its session times out, so the metadata alone is not enough)."""
    servers = Broker(node_id, count).address if node_id else bootstrap(count)
    try:
        live = live_brokers(servers)
    except KafkaException:
        return False
    wanted = {node_id} if node_id else set(range(1, count + 1))
    return wanted <= live


def kafka_create_topics(
    topics: list[str], partitions: int, count: int = 1
) -> dict[str, KafkaError | None]:
    """Creates the topics (replicated on `count` brokers, as kafka.replication says); returns
    the error for each topic, or None."""
    admin = kafka_admin(bootstrap(count))  # kept until every answer is in: destroying it cancels
    factor, min_isr = replication(count)
    config = {"min.insync.replicas": str(min_isr)}
    futures = admin.create_topics(
        [NewTopic(t, partitions, replication_factor=factor, config=config) for t in topics],
        request_timeout=15,
    )
    errors: dict[str, KafkaError | None] = {}
    for topic, future in futures.items():
        try:
            future.result()
            errors[topic] = None
        except KafkaException as exc:
            errors[topic] = exc.args[0]
    return errors


def kafka_grow_topics(topics: list[str], partitions: int, count: int = 1) -> list[str]:
    """Gives each existing topic with fewer partitions `partitions` (a data directory of a run
    made with fewer); returns the topics grown. Kafka only adds partitions, never removes."""
    admin = kafka_admin(bootstrap(count))
    found = admin.list_topics(timeout=10).topics
    short = [t for t in topics if t in found and len(found[t].partitions) < partitions]
    if not short:
        return []
    futures = admin.create_partitions(
        [NewPartitions(t, partitions) for t in short], request_timeout=15
    )
    for future in futures.values():
        future.result()
    return short


def kafka_tool_argv(kafka_home: Path, main_class: str, *args: str) -> list[str]:
    """A command line for one of Kafka's tools, e.g. org.apache.kafka.tools.TopicCommand."""
    return [
        JAVA,
        *TOOL_JVM,
        "-Dlog4j2.level=WARN",
        "-cp",
        f"{kafka_home}/libs/*",
        main_class,
        *args,
    ]


def under_replicated(kafka_home: Path, count: int, skip: str = "") -> list[str]:
    """Kafka's own answer (kafka-topics --describe --under-replicated-partitions): one line per
    partition whose in-sync replicas are fewer than its replicas; none when all caught up.
    skip: a broker (by name) not to ask, e.g. a paused one. RuntimeError if the tool fails
    (e.g. no broker answers)."""
    servers = ",".join(b.address for b in cluster(count) if b.name != skip)
    argv = kafka_tool_argv(
        kafka_home,
        "org.apache.kafka.tools.TopicCommand",
        "--bootstrap-server",
        servers,
        "--describe",
        "--under-replicated-partitions",
    )
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"kafka-topics failed: {(done.stdout + done.stderr).strip()[-500:]}")
    return [line.strip() for line in done.stdout.splitlines() if "Partition:" in line]
