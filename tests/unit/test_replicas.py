"""REPLICAS=N (deploy/stack/replicas.py): the instances the runner plans, their names, ports,
identities and database pools, and the refusal on the SQLite profile. No stack needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from apps.common.db import make_engine
from apps.common.settings import Settings
from deploy.stack import replicas as rep
from deploy.stack import services
from deploy.stack.chaos import KAFKA_CHAOS_PORT, KAFKA_PROXY_PORT, POSTGRES_PROXY_PORT
from deploy.stack.infra import infra_services
from deploy.stack.kafka import TOPIC_PARTITIONS
from deploy.stack.paths import LOG_DIR, ROOT
from deploy.stack.runfile import load_runfile
from deploy.stack.secrets import PUBLIC_APPS, Tokens
from deploy.stack.sentry import sentry_service
from deploy.stack.services import app_and_sidecar, control_plane
from deploy.stack.toxiproxy import TOXIPROXY_PORT

RUNFILE = ROOT / "dapr.yaml"
EPHEMERAL_LOW = 32768  # Linux's default ip_local_port_range starts here


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tokens and a password of a fake run, so services can be planned without a stack."""
    for name in ("TRACING_SAMPLING_RATE", "WORKFLOW_RETENTION", "GATEWAY_PORT", "REPLICAS"):
        monkeypatch.delenv(name, raising=False)
    apps = load_runfile(RUNFILE, "postgres")
    tokens = {a.app_id: Tokens("d", None if a.app_id in PUBLIC_APPS else "a") for a in apps}
    monkeypatch.setattr(services, "load_tokens", lambda: tokens)
    monkeypatch.setattr(services, "postgres_password", lambda: "pw")


def test_replicas_default_to_one_and_refuse_bad_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REPLICAS", raising=False)
    assert rep.replicas_from_env("sqlite") == 1 == rep.replicas_from_env("postgres")
    monkeypatch.setenv("REPLICAS", "1")
    assert rep.replicas_from_env("sqlite") == 1
    for bad in ("0", "5", "two", "-1"):
        monkeypatch.setenv("REPLICAS", bad)
        with pytest.raises(ValueError, match="whole number from 1 to 4"):
            rep.replicas_from_env("postgres")


def test_more_than_one_replica_is_refused_on_sqlite_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REPLICAS", "2")
    assert rep.replicas_from_env("postgres") == 2
    with pytest.raises(ValueError) as refused:
        rep.replicas_from_env("sqlite")
    reason = str(refused.value)
    assert "\n" not in reason and "PROFILE=postgres" in reason and "SQLite" in reason
    assert "single-writer" in reason


def test_one_replica_is_dapr_yaml_unchanged(fake_run: None) -> None:
    apps = load_runfile(RUNFILE, "postgres")
    assert rep.with_replicas(apps, 1) is apps
    assert all(a.name == a.app_id and a.instance == 1 for a in apps)
    assert all("DB_POOL_SIZE" not in a.env for a in apps)
    names = [s.name for a in apps for s in app_and_sidecar(a, "postgres")]
    assert "order-service" in names and "order-service/daprd" in names
    assert not any(re.search(r"-\d", n) for n in names)


def test_instances_names_logs_and_shared_identity(fake_run: None) -> None:
    apps = rep.with_replicas(load_runfile(RUNFILE, "postgres"), 3)
    names = [a.name for a in apps]
    assert names == [
        "gateway",
        "order-service",
        "order-service-2",
        "order-service-3",
        "inventory-service",
        "inventory-service-2",
        "inventory-service-3",
        "payment-service",
        "payment-service-2",
        "payment-service-3",
        "notification-service",
    ]
    second = next(a for a in apps if a.name == "payment-service-2")
    app, sidecar = app_and_sidecar(second, "postgres")
    assert (app.name, sidecar.name) == ("payment-service-2", "payment-service-2/daprd")
    assert app.log == LOG_DIR / "payment-service-2.log"
    assert sidecar.log == LOG_DIR / "payment-service-2.daprd.log"
    assert app.env["APP_ID"] == "payment-service" and app.env["APP_PORT"] == "8013"
    flags = sidecar.argv
    assert flags[flags.index("--app-id") + 1] == "payment-service"
    assert flags[flags.index("--app-port") + 1] == "8013"
    first = next(a for a in apps if a.name == "payment-service")
    _app1, sidecar1 = app_and_sidecar(first, "postgres")
    # One app id, one Sentry identity: every instance's sidecar shows the same token file.
    assert sidecar.env["DAPR_SENTRY_TOKEN_FILE"] == sidecar1.env["DAPR_SENTRY_TOKEN_FILE"]
    assert Path(sidecar.env["DAPR_SENTRY_TOKEN_FILE"]).name == "payment-service.jwt"


def fixed_ports_of_one_replica() -> set[int]:
    """Every port of the stack without REPLICAS, chaos mode included."""
    apps = load_runfile(RUNFILE, "postgres")
    procs = [s for a in apps for s in app_and_sidecar(a, "postgres")]
    procs += infra_services("postgres", Path("/nonexistent"), Path("/nonexistent"), False)
    procs += [sentry_service(), *control_plane()]
    ports = {p for s in procs for p in s.ports}
    return ports | {KAFKA_CHAOS_PORT, KAFKA_PROXY_PORT, POSTGRES_PROXY_PORT, TOXIPROXY_PORT}


def readme_port_table() -> set[int]:
    """Every port the port table (docs/operations.md) names, but the replicas' own row."""
    text = (ROOT / "docs" / "operations.md").read_text()
    table = text.split("## Ports (all on 127.0.0.1)", 1)[1].split("\n\n", 2)[1]
    ports: set[int] = set()
    for row in table.splitlines():
        if "replicas" in row.lower():
            continue
        for low, high in re.findall(r"\b(\d{4,5})(?:-(\d{4,5}))?\b", row):
            ports.update(range(int(low), int(high or low) + 1))
    assert {8080, 3500, 20204, 9194, 5433, 15433} <= ports  # the table was found
    return ports


def test_instance_ports_clash_with_nothing(fake_run: None) -> None:
    apps = rep.with_replicas(load_runfile(RUNFILE, "postgres"), rep.MAX_REPLICAS)
    extra = [a for a in apps if a.instance > 1]
    assert len(extra) == len(rep.REPLICATED) * (rep.MAX_REPLICAS - 1)
    ports = [p for a in extra for s in app_and_sidecar(a, "postgres") for p in s.ports]
    assert len(ports) == len(set(ports)), "two instances share a port"
    assert not set(ports) & fixed_ports_of_one_replica()
    assert not set(ports) & readme_port_table()
    assert max(ports) < EPHEMERAL_LOW
    order2 = next(a for a in extra if a.name == "order-service-2")
    assert (order2.app_port, order2.http_port, order2.grpc_port) == (8011, 3511, 20111)
    assert (order2.internal_grpc_port, order2.metrics_port) == (20211, 9201)


def test_readme_states_the_offset_scheme() -> None:
    row = next(
        ln
        for ln in (ROOT / "docs" / "operations.md").read_text().splitlines()
        if ln.startswith("| replicas")
    )
    assert f"+ {rep.PORT_STEP} × (k - 1)" in row


def test_pools_fit_postgres_max_connections() -> None:
    app_ids = ["order-service", "inventory-service", "payment-service", "notification-service"]
    for n in range(2, rep.MAX_REPLICAS + 1):
        pool, overflow = rep.pool_per_instance(n, app_ids)
        instances = 3 * n + 1
        used = instances * (pool + overflow) + n * rep.STATESTORE_CONNECTIONS
        assert used + rep.POSTGRES_RESERVED + rep.POSTGRES_HEADROOM <= 100, n
        assert pool >= 2 and overflow >= 1


def test_replicated_apps_get_the_pool_and_the_runner_passes_it(fake_run: None) -> None:
    apps = rep.with_replicas(load_runfile(RUNFILE, "postgres"), 2)
    pool, overflow = rep.pool_per_instance(2, [*rep.REPLICATED, "notification-service"])
    for app in apps:
        env = app_and_sidecar(app, "postgres")[0].env
        if app.app_id == "gateway":
            assert "DB_POOL_SIZE" not in env
        else:
            assert (env["DB_POOL_SIZE"], env["DB_MAX_OVERFLOW"]) == (str(pool), str(overflow))


def test_the_engine_takes_the_pool_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://u:p@127.0.0.1:1/x"  # never connected: the pool is made lazily
    monkeypatch.delenv("DB_POOL_SIZE", raising=False)
    monkeypatch.delenv("DB_MAX_OVERFLOW", raising=False)
    engine = make_engine(url, settings=Settings())
    assert (engine.pool.size(), engine.pool._max_overflow) == (10, 10)  # type: ignore[attr-defined]
    monkeypatch.setenv("DB_POOL_SIZE", "5")
    monkeypatch.setenv("DB_MAX_OVERFLOW", "6")
    engine = make_engine(url, settings=Settings())
    assert (engine.pool.size(), engine.pool._max_overflow) == (5, 6)  # type: ignore[attr-defined]


def test_enough_partitions_for_every_consumer_of_a_group() -> None:
    assert TOPIC_PARTITIONS >= rep.MAX_REPLICAS
