"""Copies of the resources directories with the Kafka pub/sub component's `brokers` replaced:
chaos mode points it at the Toxiproxy proxies (deploy/stack/chaos.py), KAFKA_BROKERS=3 at the
three brokers (deploy/stack/kafka.py). Dapr 1.18's only way to take a metadata value from the
environment (`envRef`) has no default: using it would change what `dapr run -f dapr.yaml`
starts, so the stack writes a generated copy instead, and dapr.yaml's stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from deploy.stack.kafka import bootstrap
from deploy.stack.runfile import AppSpec


def with_brokers(paths: list[Path], out_dir: Path, brokers: str, why: str) -> list[Path]:
    """The resources directories, each one holding a pubsub.kafka component copied under
    out_dir with `brokers` set; the others kept as they are."""
    result = []
    for path in paths:
        docs = {f: list(yaml.safe_load_all(f.read_text())) for f in sorted(path.glob("*.yaml"))}
        if not any(_is_kafka_pubsub(d) for found in docs.values() for d in found):
            result.append(path)
            continue
        copy = out_dir / path.name
        copy.mkdir(parents=True, exist_ok=True)
        wanted = {}
        for file, found in docs.items():
            for doc in found:
                if _is_kafka_pubsub(doc):
                    _set_metadata(doc, "brokers", brokers)
            header = f"# Generated for {why} by deploy/stack from {file}; do not edit.\n"
            wanted[file.name] = header + yaml.safe_dump_all(found, sort_keys=False)
        _write_changed(copy, wanted)
        result.append(copy)
    return result


def kafka_resources(paths: list[Path], run_dir: Path, kafka_brokers: int) -> list[Path]:
    """KAFKA_BROKERS=3 without chaos mode: the pub/sub component names every broker."""
    why = f"KAFKA_BROKERS={kafka_brokers}"
    return with_brokers(paths, run_dir / "kafka-resources", bootstrap(kafka_brokers), why)


def rewrite_resources(apps: list[AppSpec], rewrite: Callable[[list[Path]], list[Path]]) -> None:
    """Gives every app the rewritten copy of its resources directories (one copy per set)."""
    done: dict[tuple[Path, ...], list[Path]] = {}
    for app in apps:
        key = tuple(app.resources_paths)
        if key not in done:
            done[key] = rewrite(app.resources_paths)
        app.resources_paths = done[key]


def _write_changed(copy: Path, wanted: dict[str, str]) -> None:
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


def _is_kafka_pubsub(doc: object) -> bool:
    return isinstance(doc, dict) and doc.get("spec", {}).get("type") == "pubsub.kafka"


def _set_metadata(doc: dict, name: str, value: str) -> None:
    items = doc["spec"].setdefault("metadata", [])
    for item in items:
        if item.get("name") == name:
            item["value"] = value
            return
    items.append({"name": name, "value": value})
