"""Chaos mode (`CHAOS=1 make up`): Toxiproxy between the stack and its Kafka and PostgreSQL.

- `kafka` (and `kafka-2`, `kafka-3` with KAFKA_BROKERS=3): the sidecars' Kafka traffic. A Kafka
  client dials the bootstrap address, then each broker's advertised address, so each broker
  gets an extra listener (deploy/stack/kafka.py: chaos_port) advertised as its own proxy's port,
  and the pub/sub component's `brokers` points at the proxies, in a generated copy of the
  resources directory (.run/chaos-resources, deploy/stack/resources.py).
- `postgres` (profile postgres): the apps' DATABASE_URL. The workflow state store stays direct.

Every proxy port is its upstream port plus 10000. Normal mode starts none of this.
"""

from __future__ import annotations

import os
from pathlib import Path

from deploy.stack.kafka import KAFKA_CHAOS_PORT, PROXY_OFFSET, cluster, proxied_bootstrap
from deploy.stack.paths import LOG_DIR, pinned_versions
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST, Service, http_ok
from deploy.stack.resources import with_brokers
from deploy.stack.toxiproxy import TOXIPROXY_API, TOXIPROXY_PORT, Toxiproxy

KAFKA_PROXY_PORT = KAFKA_CHAOS_PORT + PROXY_OFFSET  # broker 1's
POSTGRES_PROXY_PORT = POSTGRES_PORT + PROXY_OFFSET


def chaos_from_env() -> bool:
    return os.environ.get("CHAOS", "").lower() in ("1", "true", "yes")


def proxies(profile: str, kafka_brokers: int = 1) -> dict[str, tuple[int, int]]:
    """Proxy name -> (listen port, upstream port); each Kafka broker's is named as its process."""
    found = {b.name: (b.proxy_port, b.chaos_port) for b in cluster(kafka_brokers)}
    if profile == "postgres":
        found["postgres"] = (POSTGRES_PROXY_PORT, POSTGRES_PORT)
    return found


def toxiproxy_service(
    profile: str, run_dir: Path, cache_dir: Path, kafka_brokers: int = 1
) -> Service:
    version = pinned_versions()["TOXIPROXY_VERSION"]
    server = cache_dir / f"toxiproxy-{version}" / "bin" / "toxiproxy-server"
    wanted = proxies(profile, kafka_brokers)

    def prepare() -> None:
        if not server.is_file():
            raise RuntimeError(
                f"Toxiproxy is not installed: run deploy/setup/toxiproxy.sh ({server})"
            )

    def create_proxies() -> None:
        client = Toxiproxy(TOXIPROXY_API)
        for name, (listen, upstream) in wanted.items():
            client.create_proxy(name, f"{HOST}:{listen}", f"{HOST}:{upstream}")

    return Service(
        name="toxiproxy",
        argv=[str(server), "-host", HOST, "-port", str(TOXIPROXY_PORT)],
        log=LOG_DIR / "toxiproxy.log",
        cwd=run_dir,
        ready=lambda: http_ok(f"{TOXIPROXY_API}/version"),
        ports=[TOXIPROXY_PORT, *(listen for listen, _upstream in wanted.values())],
        prepare=prepare,
        after_ready=create_proxies,
        ready_timeout=20.0,
    )


def chaos_resources(paths: list[Path], run_dir: Path, kafka_brokers: int = 1) -> list[Path]:
    """The resources directories with the Kafka pub/sub pointed at the brokers' proxies: each
    directory holding a pubsub.kafka component is copied under run_dir/chaos-resources."""
    brokers = proxied_bootstrap(kafka_brokers)
    return with_brokers(paths, run_dir / "chaos-resources", brokers, "CHAOS=1")
