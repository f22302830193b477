"""The chaos-mode copy of the resources (deploy/stack/chaos.py): the Kafka brokers point at the
proxy, and building it again touches nothing, because running sidecars hot-reload (restart)
on any change in that directory."""

from __future__ import annotations

from pathlib import Path

import yaml

from deploy.stack.chaos import KAFKA_PROXY_PORT, chaos_resources
from deploy.stack.paths import ROOT


def test_the_copy_points_kafka_at_the_proxy_and_a_rebuild_touches_nothing(tmp_path: Path):
    [copy] = chaos_resources([ROOT / "components" / "common"], tmp_path)
    pubsub = yaml.safe_load((copy / "pubsub.yaml").read_text())
    brokers = {m["name"]: m["value"] for m in pubsub["spec"]["metadata"]}["brokers"]
    assert brokers.endswith(f":{KAFKA_PROXY_PORT}")
    before = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in copy.glob("*.yaml")}
    assert before

    assert chaos_resources([ROOT / "components" / "common"], tmp_path) == [copy]
    after = {f.name: (f.stat().st_ino, f.stat().st_mtime_ns) for f in copy.glob("*.yaml")}
    assert after == before
