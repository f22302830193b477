"""The kafka image: one KRaft node (controller and broker) formats its storage at the first
start, answers metadata requests on a published loopback port, takes and serves a message,
and after a restart keeps its topic without formatting again."""

from __future__ import annotations

import contextlib
import time
import uuid

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from tests.images.podman import Container, free_port, image_ref, pod, podman, running, wait_for

IMAGE = image_ref("kafka")
START_TIMEOUT = 180  # the first start formats the storage; this machine is shared


def admin(kafka: Container) -> AdminClient:
    return AdminClient({"bootstrap.servers": f"127.0.0.1:{kafka.ports[9092]}", "log_level": 0})


def brokers(client: AdminClient) -> int:
    """How many brokers the cluster's metadata lists (0 while it does not answer)."""
    try:
        return len(client.list_topics(timeout=2).brokers)
    except KafkaException:
        return 0


def answers_metadata(kafka: Container) -> bool:
    return brokers(admin(kafka)) > 0


def produce_all(kafka: Container, topic: str, count: int = 10) -> list[KafkaError]:
    """Sends `count` messages with acks=all; the delivery errors (none when all went in)."""
    producer = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{kafka.ports[9092]}",
            "acks": "all",
            "message.timeout.ms": 30_000,
            "log_level": 0,
        }
    )
    errors: list[KafkaError] = []
    for _ in range(count):
        producer.produce(
            topic, b"x", on_delivery=lambda error, _msg: error and errors.append(error)
        )
    assert producer.flush(45) == 0, "messages still undelivered after 45 s"
    return errors


def round_trip(kafka: Container, topic: str, value: bytes) -> bytes | None:
    servers = f"127.0.0.1:{kafka.ports[9092]}"
    producer = Producer({"bootstrap.servers": servers, "log_level": 0})
    producer.produce(topic, value)
    assert producer.flush(30) == 0, "the message was not delivered"
    consumer = Consumer(
        {"bootstrap.servers": servers, "group.id": topic, "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe([topic])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                return message.value()
        return None
    finally:
        consumer.close()


def test_kafka_node_serves_and_keeps_its_storage_across_a_restart() -> None:
    topic = f"image-check-{uuid.uuid4().hex[:8]}"
    port = free_port()
    # The broker tells clients the published address (the container's own is private to it).
    env = {"KAFKA_ADVERTISED_HOST": "127.0.0.1", "KAFKA_ADVERTISED_PORT": str(port)}
    with running(IMAGE, env=env, ports={9092: port}, hostname="kafka-0") as kafka:
        wait_for("kafka metadata", lambda: answers_metadata(kafka), START_TIMEOUT, kafka)
        client = admin(kafka)  # kept until its answer is in: destroying it cancels the request
        assert list(client.list_topics(timeout=10).brokers) == [0]  # id from the name kafka-0
        client.create_topics([NewTopic(topic, num_partitions=1)])[topic].result(30)
        assert round_trip(kafka, topic, b"hello") == b"hello"

        quorum = kafka.exec(
            "kafka-metadata-quorum.sh", "--bootstrap-controller", "localhost:9093",
            "describe", "--status",
        )  # fmt: skip
        assert quorum.returncode == 0, quorum.stderr
        assert "LeaderId:               0" in quorum.stdout

        kafka.restart()
        wait_for("kafka after restart", lambda: answers_metadata(kafka), START_TIMEOUT, kafka)
        assert topic in admin(kafka).list_topics(timeout=10).topics
        assert kafka.logs().count("formatting") == 1


def test_three_nodes_form_one_cluster_that_keeps_writing_without_one() -> None:
    """Three nodes as a StatefulSet would run them (here in one network namespace, so each on
    its own ports): one quorum, one cluster id derived alike by each, topics with three
    replicas and min.insync.replicas 2, still written with acks=all when a node is down."""
    client_ports = {19092 + 100 * n: free_port() for n in range(3)}
    voters = ",".join(f"{n}@localhost:{19093 + 100 * n}" for n in range(3))
    with pod(client_ports, "kafka-trio") as pod_id, contextlib.ExitStack() as nodes:
        started = []
        for n, (port, host_port) in enumerate(client_ports.items()):
            env = {
                "KAFKA_CONTROLLER_QUORUM_VOTERS": voters,
                "KAFKA_PORT": str(port),
                "KAFKA_CONTROLLER_PORT": str(port + 1),
                "KAFKA_INTERNAL_PORT": str(port - 1),
                "KAFKA_INTERNAL_HOST": "localhost",
                "KAFKA_ADVERTISED_HOST": "127.0.0.1",
                "KAFKA_ADVERTISED_PORT": str(host_port),
            }
            node = running(
                IMAGE, env=env, ports={9092: host_port}, hostname=f"kafka-{n}", pod=pod_id
            )
            started.append(nodes.enter_context(node))
        first = started[0]
        client = admin(first)
        wait_for(
            "three brokers",
            lambda: brokers(client) == 3,
            START_TIMEOUT,
            first,
        )
        topic = f"image-check-{uuid.uuid4().hex[:8]}"
        client.create_topics([NewTopic(topic, num_partitions=3)])[topic].result(30)
        partitions = client.list_topics(topic=topic, timeout=10).topics[topic].partitions
        assert all(len(p.replicas) == 3 for p in partitions.values())

        def min_insync() -> str | None:
            asked = client.describe_configs([ConfigResource("topic", topic)])
            try:
                return next(iter(asked.values())).result()["min.insync.replicas"].value
            except KafkaException:  # asked a broker that has not learnt of the topic yet
                return None

        wait_for("the topic's configuration", lambda: min_insync() is not None, 30, first)
        assert min_insync() == "2"
        assert produce_all(first, topic) == []

        podman("stop", "--time", "30", started[2].id)
        assert produce_all(first, topic) == []  # two in sync: acks=all still answered


def test_a_statefulset_pod_derives_its_settings_from_its_name() -> None:
    """In a StatefulSet (pods <name>-<ordinal> behind a headless Service), KAFKA_REPLICAS and
    KAFKA_HEADLESS_SERVICE are enough: the node id, the voters, the addresses and the
    replication settings follow. Read from the configuration the entrypoint prints."""
    env = {"KAFKA_REPLICAS": "3", "KAFKA_HEADLESS_SERVICE": "kafka-nodes"}
    with running(IMAGE, env=env, hostname="kafka-2") as kafka:
        wait_for("the printed configuration", lambda: "formatting" in kafka.logs(), 60, kafka)
        lines = [ln.strip() for ln in kafka.logs().splitlines() if ln.startswith("    ")]
        printed = dict(ln.split("=", 1) for ln in lines if "=" in ln)
    voters = ",".join(f"{n}@kafka-{n}.kafka-nodes:9093" for n in range(3))
    assert printed["node.id"] == "2"
    assert printed["controller.quorum.voters"] == voters
    advertised = "PLAINTEXT://kafka-2.kafka-nodes:9092,INTERNAL://kafka-2.kafka-nodes:9091"
    assert printed["advertised.listeners"] == advertised
    assert printed["default.replication.factor"] == "3"
    assert printed["min.insync.replicas"] == "2"
