"""Chaos mode (`CHAOS=1 make up`): Toxiproxy between the stack and its Kafka and PostgreSQL.

- `kafka`: the sidecars' Kafka traffic. A Kafka client dials the bootstrap address, then the
  broker's advertised address, so Kafka gets an extra listener (KAFKA_CHAOS_PORT) advertised as
  the proxy's port, and the pub/sub component's `brokers` points at the proxy. Written into a
  generated copy of the resources directory (.run/chaos-resources), because Dapr 1.18's only
  way to take a metadata value from the environment (`envRef`) has no default: using it would
  change what `dapr run -f dapr.yaml` starts in normal mode.
- `postgres` (profile postgres): the apps' DATABASE_URL. The workflow state store stays direct.

Every proxy port is its upstream port plus 10000. Normal mode starts none of this.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from deploy.stack.infra import HOST, POSTGRES_PORT
from deploy.stack.paths import LOG_DIR, pinned_versions
from deploy.stack.process import Service, http_ok
from deploy.stack.toxiproxy import TOXIPROXY_API, TOXIPROXY_PORT, Toxiproxy

KAFKA_CHAOS_PORT = 9094  # Kafka's extra listener, reached only through the proxy
KAFKA_PROXY_PORT = KAFKA_CHAOS_PORT + 10000
POSTGRES_PROXY_PORT = POSTGRES_PORT + 10000


def chaos_from_env() -> bool:
    return os.environ.get("CHAOS", "").lower() in ("1", "true", "yes")


def proxies(profile: str) -> dict[str, tuple[int, int]]:
    """Proxy name -> (listen port, upstream port)."""
    found = {"kafka": (KAFKA_PROXY_PORT, KAFKA_CHAOS_PORT)}
    if profile == "postgres":
        found["postgres"] = (POSTGRES_PROXY_PORT, POSTGRES_PORT)
    return found


def toxiproxy_service(profile: str, run_dir: Path, cache_dir: Path) -> Service:
    version = pinned_versions()["TOXIPROXY_VERSION"]
    server = cache_dir / f"toxiproxy-{version}" / "bin" / "toxiproxy-server"
    wanted = proxies(profile)

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


def chaos_resources(paths: list[Path], run_dir: Path) -> list[Path]:
    """The resources directories with the Kafka pub/sub pointed at the proxy: each directory
    holding a pubsub.kafka component is copied under run_dir/chaos-resources, the rest kept."""
    result = []
    for path in paths:
        docs = {f: list(yaml.safe_load_all(f.read_text())) for f in sorted(path.glob("*.yaml"))}
        if not any(_is_kafka_pubsub(d) for found in docs.values() for d in found):
            result.append(path)
            continue
        copy = run_dir / "chaos-resources" / path.name
        copy.mkdir(parents=True, exist_ok=True)
        wanted = {}
        for file, found in docs.items():
            for doc in found:
                if _is_kafka_pubsub(doc):
                    _set_metadata(doc, "brokers", f"{HOST}:{KAFKA_PROXY_PORT}")
            header = f"# Generated for CHAOS=1 by deploy/stack/chaos.py from {file}; do not edit.\n"
            wanted[file.name] = header + yaml.safe_dump_all(found, sort_keys=False)
        # Running sidecars watch this directory (Dapr hot reload): a file deleted or rewritten
        # makes every one of them restart, so only what differs is touched. (The plan is built
        # again each time the chaos suite restarts one process.)
        for old in copy.glob("*.yaml"):
            if old.name not in wanted:
                old.unlink()
        for name, text in wanted.items():
            target = copy / name
            if not target.exists() or target.read_text() != text:
                target.write_text(text)
        result.append(copy)
    return result


def _is_kafka_pubsub(doc: object) -> bool:
    return isinstance(doc, dict) and doc.get("spec", {}).get("type") == "pubsub.kafka"


def _set_metadata(doc: dict, name: str, value: str) -> None:
    items = doc["spec"].setdefault("metadata", [])
    for item in items:
        if item.get("name") == name:
            item["value"] = value
            return
    items.append({"name": name, "value": value})
