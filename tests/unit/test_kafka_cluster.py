"""KAFKA_BROKERS (deploy/stack/kafka.py): three brokers with their own ports, one static quorum,
replication factor 3 and min.insync.replicas=2; the pub/sub component and the apps name all
three; one broker is exactly the single node of before."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.stack.infra import infra_services
from deploy.stack.kafka import (
    Broker,
    bootstrap,
    broker_properties,
    brokers_from_env,
    cluster,
    proxied_bootstrap,
)
from deploy.stack.paths import ROOT
from deploy.stack.resources import with_brokers
from tests.unit.test_replicas import fake_run as fake_run  # the fixture, re-exported
from tests.unit.test_replicas import fixed_ports_of_one_replica, readme_port_table


def props(text: str) -> dict[str, str]:
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    return dict(ln.split("=", 1) for ln in lines)


def test_the_count_is_1_or_3_and_never_an_address():
    assert brokers_from_env({}) == 1
    assert brokers_from_env({"KAFKA_BROKERS": "3"}) == 3
    for bad in ("2", "127.0.0.1:9092", "three"):
        with pytest.raises(ValueError, match="1 or 3"):
            brokers_from_env({"KAFKA_BROKERS": bad})


def test_one_broker_is_the_single_node_of_before(tmp_path: Path):
    (only,) = cluster(1)
    assert (only.name, only.port, only.controller_port, only.chaos_port) == (
        "kafka",
        9092,
        9095,
        9094,
    )
    p = props(broker_properties(only, tmp_path, chaos=False))
    assert p["controller.quorum.bootstrap.servers"] == "127.0.0.1:9095"
    assert (p["default.replication.factor"], p["min.insync.replicas"]) == ("1", "1")


def test_three_brokers_form_one_static_quorum_with_two_in_sync_replicas(tmp_path: Path):
    brokers = cluster(3)
    voters = "1@127.0.0.1:9095,2@127.0.0.1:9295,3@127.0.0.1:9495"
    for broker in brokers:
        p = props(broker_properties(broker, tmp_path, chaos=True))
        assert p["node.id"] == str(broker.node_id)
        assert p["controller.quorum.voters"] == voters
        assert p["default.replication.factor"] == p["offsets.topic.replication.factor"] == "3"
        assert p["min.insync.replicas"] == p["transaction.state.log.min.isr"] == "2"
        assert f"CHAOS://127.0.0.1:{broker.proxy_port}" in p["advertised.listeners"]
    assert bootstrap(3) == "127.0.0.1:9092,127.0.0.1:9292,127.0.0.1:9492"
    assert proxied_bootstrap(3) == "127.0.0.1:19094,127.0.0.1:19294,127.0.0.1:19494"


def test_brokers_2_and_3_clash_with_no_port_of_the_stack(fake_run: None):
    extra = [p for b in cluster(3)[1:] for p in (b.port, b.controller_port, b.chaos_port)]
    extra += [b.proxy_port for b in cluster(3)[1:]]
    assert len(extra) == len(set(extra))
    assert not set(extra) & fixed_ports_of_one_replica()
    assert set(extra) <= readme_port_table()  # the README's table names them


def test_infra_runs_every_broker_and_the_lag_exporter():
    names = [s.name for s in infra_services("sqlite", Path("/x"), Path("/x"), True, 3)]
    assert names[:3] == ["kafka", "kafka-2", "kafka-3"]
    assert "kafka-lag-exporter" in names
    assert Broker(2, 3).name == "kafka-2"


def test_the_pubsub_copy_names_every_broker_and_a_rebuild_touches_nothing(tmp_path: Path):
    common = ROOT / "components" / "common"
    [copy] = with_brokers([common], tmp_path, bootstrap(3), "KAFKA_BROKERS=3")
    pubsub = yaml.safe_load((copy / "pubsub.yaml").read_text())
    metadata = {m["name"]: m["value"] for m in pubsub["spec"]["metadata"]}
    assert metadata["brokers"] == bootstrap(3)
    assert metadata["producerRequiredAcks"] == "all"
    before = {f.name: f.stat().st_mtime_ns for f in copy.glob("*.yaml")}
    with_brokers([common], tmp_path, bootstrap(3), "KAFKA_BROKERS=3")
    assert {f.name: f.stat().st_mtime_ns for f in copy.glob("*.yaml")} == before
