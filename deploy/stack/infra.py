"""Infrastructure services of the local stack: Kafka's brokers (their settings in
deploy/stack/kafka.py) and the topics, Zipkin, the consumer lag exporter, and PostgreSQL
(deploy/stack/postgres.py) for PROFILE=postgres.

Binaries come from the set-up scripts: deploy/setup/kafka.sh, zipkin.sh and postgres.sh.
Everything binds to 127.0.0.1 only.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from confluent_kafka import KafkaError, KafkaException

from deploy.stack.kafka import (
    TOPIC_PARTITIONS,
    TOPICS,
    Broker,
    broker_properties,
    cluster,
    format_argv,
    lag_exporter_service,
    work_dir,
)
from deploy.stack.kafka_admin import (
    JAVA,
    kafka_answers,
    kafka_create_topics,
    kafka_grow_topics,
    kafka_tool_argv,
)
from deploy.stack.paths import pinned_versions
from deploy.stack.postgres import postgres_service
from deploy.stack.process import HOST, Service, http_ok, run_tool

ZIPKIN_PORT = 9411


# --- Kafka -------------------------------------------------------------------------------------


def _create_topics(count: int) -> None:
    # Retried for a while: just after start a broker may still be fenced, or the cluster have
    # fewer live brokers than the replication factor.
    pending, deadline = list(TOPICS), time.monotonic() + 60
    while True:
        errors = kafka_create_topics(pending, TOPIC_PARTITIONS, count)
        pending = [
            t for t, e in errors.items() if e and e.code() != KafkaError.TOPIC_ALREADY_EXISTS
        ]
        if not pending:
            break
        if time.monotonic() > deadline:
            failed = {t: errors[t].str() for t in pending}  # type: ignore[union-attr]
            raise RuntimeError(f"could not create Kafka topics: {failed}")
        time.sleep(0.5)
    try:
        grown = kafka_grow_topics(TOPICS, TOPIC_PARTITIONS, count)
    except KafkaException as exc:
        raise RuntimeError(f"could not add Kafka partitions: {exc.args[0]}") from exc
    if grown:
        print(f"    kafka: topics {', '.join(grown)} now have {TOPIC_PARTITIONS} partitions")


def _kafka(run_dir: Path, home: Path, broker: Broker, chaos: bool) -> Service:
    work = work_dir(run_dir, broker)
    data = work / "data"
    props = work / "server.properties"

    def prepare() -> None:
        if not (home / "libs").is_dir():
            raise RuntimeError(f"Kafka is not installed in {home}: run deploy/setup/kafka.sh")
        work.mkdir(parents=True, exist_ok=True)
        props.write_text(broker_properties(broker, data, chaos))
        # The storage tool writes meta.properties last, so without it the directory is leftovers.
        if not (data / "meta.properties").exists():
            shutil.rmtree(data, ignore_errors=True)
            fmt = format_argv(broker, run_dir, props)
            run_tool("kafka storage format", kafka_tool_argv(home, "kafka.tools.StorageTool", *fmt))

    ports = [broker.port, broker.controller_port] + ([broker.chaos_port] if chaos else [])
    return Service(
        name=broker.name,
        argv=[
            JAVA,
            # A fixed heap, touched at start (Kafka's own start script fixes it too, at 1 GiB):
            # its memory is then what it stays, not a heap growing towards its cap all through
            # a long run (378 -> 458 MiB over a 20,000-order soak with 128-512 MiB).
            "-Xms256m",
            "-Xmx256m",
            "-XX:+AlwaysPreTouch",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            # C1 only: on a fresh broker at 15 orders/s, C2's compiler threads took 44 % of
            # Kafka's CPU (2.6 of 6.0 s in 32 s); C1's code is slower but amply fast for this
            # load (docs/measurements.md). A long-running production broker keeps C2.
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            "-Djava.net.preferIPv4Stack=true",
            f"-Dlog4j2.configurationFile={home}/config/log4j2.properties",
            "-cp",
            f"{home}/libs/*",
            "kafka.Kafka",
            str(props),
        ],
        log=run_dir / "logs" / f"{broker.name}.log",
        cwd=work,
        # Ready once this broker is registered and unfenced in the cluster's metadata.
        ready=lambda: kafka_answers(broker.count, broker.node_id),
        ports=ports,
        prepare=prepare,
        # Broker 1 makes the topics (the others are started in the same phase; it waits for them).
        after_ready=(lambda: _create_topics(broker.count)) if broker.node_id == 1 else None,
        ready_timeout=120.0,
    )


# --- Zipkin ------------------------------------------------------------------------------------


def _zipkin(run_dir: Path, home: Path) -> Service:
    jar = home / "zipkin.jar"

    def prepare() -> None:
        if not jar.is_file():
            raise RuntimeError(f"Zipkin is not installed in {home}: run deploy/setup/zipkin.sh")

    return Service(
        name="zipkin",
        # Spring Boot replaces a list property as a whole, so the port entry is given in full.
        argv=[
            JAVA,
            "-Xms64m",
            "-Xmx256m",
            "-XX:TieredStopAtLevel=1",  # C1 only, as Kafka: no C2 compiler threads at start-up
            "-Djava.net.preferIPv4Stack=true",
            "-jar",
            str(jar),
            f"--armeria.ports[0].ip={HOST}",
            f"--armeria.ports[0].port={ZIPKIN_PORT}",
            "--armeria.ports[0].protocols[0]=http",
            # Idle keep-alive connections closed after 2 min, not Armeria's 15 s: longer than
            # Go's HTTP client keeps them (90 s). Otherwise a sidecar's span export could
            # reuse a connection Zipkin was closing and lose that batch ("connection reset by
            # peer" in order-service's daprd log; a trace test failed on it, 2026-12-08).
            "--armeria.idle-timeout=120s",
        ],
        log=run_dir / "logs" / "zipkin.log",
        cwd=home,
        # In-memory storage keeps 500k spans by default, more than the 256 MB heap holds.
        env={"STORAGE_TYPE": "mem", "MEM_MAX_SPANS": "50000", "QUERY_PORT": str(ZIPKIN_PORT)},
        ready=lambda: http_ok(f"http://{HOST}:{ZIPKIN_PORT}/health"),
        ports=[ZIPKIN_PORT],
        prepare=prepare,
    )


def infra_services(
    profile: str, run_dir: Path, cache_dir: Path, chaos: bool, kafka_brokers: int = 1
) -> list[Service]:
    """chaos: each Kafka broker gets its extra chaos-mode listener (deploy/stack/chaos.py)."""
    versions = pinned_versions()
    kafka_home = cache_dir / f"kafka-{versions['KAFKA_VERSION']}"
    zipkin_home = cache_dir / f"zipkin-{versions['ZIPKIN_VERSION']}"
    services = [_kafka(run_dir, kafka_home, b, chaos) for b in cluster(kafka_brokers)]
    services.append(_zipkin(run_dir, zipkin_home))
    services.append(lag_exporter_service(run_dir / "logs", kafka_brokers))
    if profile == "postgres":
        services.append(postgres_service(run_dir))
    return services
