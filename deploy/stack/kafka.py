"""Kafka of the local stack: one KRaft node (the default), or KAFKA_BROKERS=3, a cluster of three
combined broker-and-controller nodes with a static controller quorum, replication factor 3 and
min.insync.replicas=2, as a production cluster runs (one broker may die or restart and every
write still lands on two replicas; the Dapr component's producers wait for all in-sync replicas:
`producerRequiredAcks: all` in components/common/pubsub.yaml).

Broker 1 is exactly what the single node is (process `kafka`, ports 9092 / controller 9095 /
chaos listener 9094). Broker k (2, 3) is `kafka-k` and takes every port of broker 1 plus
BROKER_PORT_STEP * (k - 1): 9292/9295/9294 and 9492/9495/9494. The cluster keeps its data in
RUN_DIR/kafka-cluster (never the single node's RUN_DIR/kafka: a data directory formatted for one
quorum cannot join another). Everything binds to 127.0.0.1.
"""

from __future__ import annotations

import base64
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from contracts import catalog
from deploy.stack.paths import ROOT
from deploy.stack.process import HOST, Service, port_open

KAFKA_PORT = 9092
KAFKA_CONTROLLER_PORT = 9095  # not the usual 9093, which another component of the stack uses
KAFKA_CHAOS_PORT = 9094  # chaos mode: an extra listener, reached only through Toxiproxy
PROXY_OFFSET = 10000  # a Toxiproxy port is its upstream's plus this
BROKER_PORT_STEP = 200  # clear of the sidecars' metrics ports (9190-9194, 9201-9223)
BROKER_COUNTS = (1, 3)
LAG_EXPORTER_PORT = 9308  # danielqsj/kafka_exporter's usual port, same series names

TOPICS = [t.name for t in catalog.TOPICS]  # made at start, before any app (contracts/catalog.py)
# At least as many partitions as consumers per group: the instances of a service form one
# consumer group (REPLICAS, deploy/stack/replicas.py: MAX_REPLICAS); a consumer without a
# partition would idle.
TOPIC_PARTITIONS = 4


def brokers_from_env(env: dict[str, str] | None = None) -> int:
    """KAFKA_BROKERS from the environment (1 when unset): how many brokers the stack runs.
    ValueError with a one-line reason for anything but 1 or 3."""
    raw = ((os.environ if env is None else env).get("KAFKA_BROKERS") or "1").strip()
    if not raw.isdigit() or int(raw) not in BROKER_COUNTS:
        raise ValueError(
            f"KAFKA_BROKERS={raw!r}: the stack runs 1 or 3 brokers (a count, not addresses; "
            "3 is a KRaft quorum that survives one broker's loss)"
        )
    return int(raw)


@dataclass(frozen=True)
class Broker:
    node_id: int
    count: int  # brokers in the cluster

    @property
    def name(self) -> str:
        return "kafka" if self.node_id == 1 else f"kafka-{self.node_id}"

    def _port(self, base: int) -> int:
        return base + BROKER_PORT_STEP * (self.node_id - 1)

    @property
    def port(self) -> int:
        return self._port(KAFKA_PORT)

    @property
    def controller_port(self) -> int:
        return self._port(KAFKA_CONTROLLER_PORT)

    @property
    def chaos_port(self) -> int:
        return self._port(KAFKA_CHAOS_PORT)

    @property
    def proxy_port(self) -> int:
        return self.chaos_port + PROXY_OFFSET

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


def cluster(count: int) -> list[Broker]:
    return [Broker(node_id, count) for node_id in range(1, count + 1)]


def bootstrap(count: int) -> str:
    """Every broker's address, for clients that must reach the cluster with any broker down."""
    return ",".join(b.address for b in cluster(count))


def proxied_bootstrap(count: int) -> str:
    """Chaos mode: every broker's Toxiproxy address (what the sidecars dial)."""
    return ",".join(f"{HOST}:{b.proxy_port}" for b in cluster(count))


def work_dir(run_dir: Path, broker: Broker) -> Path:
    if broker.count == 1:
        return run_dir / "kafka"
    return run_dir / "kafka-cluster" / broker.name


def replication(count: int) -> tuple[int, int]:
    """(replication factor, min.insync.replicas) of every topic, Kafka's own ones included."""
    return (3, 2) if count >= 3 else (1, 1)


def broker_properties(broker: Broker, data_dir: Path, chaos: bool) -> str:
    listeners = f"PLAINTEXT://{HOST}:{broker.port},CONTROLLER://{HOST}:{broker.controller_port}"
    advertised = f"PLAINTEXT://{broker.address}"
    protocols = "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
    if chaos:  # clients on this listener are told to come back via the broker's own proxy
        listeners += f",CHAOS://{HOST}:{broker.chaos_port}"
        advertised += f",CHAOS://{HOST}:{broker.proxy_port}"
        protocols += ",CHAOS:PLAINTEXT"
    if broker.count == 1:
        quorum = f"controller.quorum.bootstrap.servers={HOST}:{broker.controller_port}"
    else:  # a static quorum: every node formatted alike, none has to be added later
        voters = ",".join(f"{b.node_id}@{HOST}:{b.controller_port}" for b in cluster(broker.count))
        quorum = f"controller.quorum.voters={voters}"
    factor, min_isr = replication(broker.count)
    return f"""# Written by deploy/stack/kafka.py: node {broker.node_id} of {broker.count}.
process.roles=broker,controller
node.id={broker.node_id}
{quorum}
listeners={listeners}
advertised.listeners={advertised}
listener.security.protocol.map={protocols}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs={data_dir}
num.partitions={TOPIC_PARTITIONS}
auto.create.topics.enable=true
default.replication.factor={factor}
min.insync.replicas={min_isr}
unclean.leader.election.enable=false
offsets.topic.replication.factor={factor}
# 50 by default; a few are plenty here and make the first consumer group start faster.
offsets.topic.num.partitions=3
transaction.state.log.replication.factor={factor}
transaction.state.log.min.isr={min_isr}
share.coordinator.state.topic.replication.factor={factor}
share.coordinator.state.topic.min.isr={min_isr}
group.initial.rebalance.delay.ms=0
# 128 MiB of heap by default, for compacting topics; the only compacted one here is Kafka's own
# offsets topic, a few MiB.
log.cleaner.dedupe.buffer.size=16777216
"""


def kafka_cluster_id() -> str:
    """A random cluster id as Kafka writes them (URL-safe base64 of 16 bytes), never starting
    with "-": the storage tool would take such an id for an option (as Kafka's own
    Uuid.randomUuid avoids)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        if not cluster_id.startswith("-"):
            return cluster_id


def shared_cluster_id(run_dir: Path) -> str:
    """The id every node of the three-broker cluster is formatted with (made once per data)."""
    path = run_dir / "kafka-cluster" / "cluster-id"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(kafka_cluster_id())
    return path.read_text().strip()


def format_argv(broker: Broker, run_dir: Path, props: Path) -> list[str]:
    """Arguments of Kafka's storage tool for a fresh data directory of this broker."""
    if broker.count == 1:
        return ["format", "--standalone", "-t", kafka_cluster_id(), "-c", str(props)]
    return ["format", "-t", shared_cluster_id(run_dir), "-c", str(props)]


def lag_exporter_service(log_dir: Path, count: int) -> Service:
    """Consumer lag per group and topic for Prometheus and the console (deploy/lag_exporter.py),
    on LAG_EXPORTER_PORT; a scrape while Kafka does not answer says scrape_success 0."""
    root = ROOT
    return Service(
        name="kafka-lag-exporter",
        argv=[
            str(root / ".venv" / "bin" / "python"),
            "-m",
            "deploy.lag_exporter",
            "--bootstrap",
            bootstrap(count),
            "--port",
            str(LAG_EXPORTER_PORT),
        ],
        log=log_dir / "kafka-lag-exporter.log",
        cwd=root,
        env={"PYTHONPATH": str(root), "PYTHONUNBUFFERED": "1"},
        ready=lambda: port_open(LAG_EXPORTER_PORT),
        ports=[LAG_EXPORTER_PORT],
    )
