"""REPLICAS=N on one machine (PROFILE=postgres): the work is shared by the instances of each app
id, the loss of one loses no order, and a restarted one gets work again. Evidence is per instance:
each app's own /metrics, and the Kafka consumer group's members on the broker.

Orders go through the gateway as clients send them (tests/chaos/load.py: a mix of orders that
confirm, lack funds, lack stock or are cancelled, each POST retried with its Idempotency-Key);
at rest the chaos suite's invariants must hold (tests/chaos/invariants.py: every order
CONFIRMED or CANCELLED, stock and balances add up, one charge and one notification per order).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

import httpx
import psycopg
import pytest
from sqlalchemy import inspect
from sqlmodel import SQLModel

import apps.inventory_service.store
import apps.order_service.store
import apps.payment_service.store  # noqa: F401  (their tables, in SQLModel.metadata)
from apps.common.db import Database
from apps.notification_service.store import create_tables
from deploy.stack.kafka import TOPIC_PARTITIONS
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST
from deploy.stack.secrets import postgres_password
from tests.chaos.invariants import AtRest, settle
from tests.chaos.load import Load, Plan, SentOrder, make_orders, set_up
from tests.replicas.instances import (
    CHARGES,
    RESERVATIONS,
    SAGAS,
    Probe,
    group_assignment,
    kill,
    name,
    restart,
    wait_until,
)

SPREAD_ORDERS, KILL_ORDERS, REJOIN_ORDERS = 60, 60, 20
# An instance must have done at least this share of an even split (1/N of the work).
FAIR_SHARE = 0.3


@dataclass
class Run:
    plan: Plan
    sent: list[SentOrder]
    rest: AtRest


def run_load(api: httpx.Client, count: int, window: float, seed: int, during=None) -> Run:  # type: ignore[no-untyped-def]
    """`count` orders spread over `window` seconds; `during(sent)` runs while they are sent;
    returns once every order is at rest (or its deadline passed)."""
    plan = Plan.fresh()
    set_up(api, plan, time.monotonic() + 60)
    sent = make_orders(plan, count, seed)
    load = Load(api, sent, window, seed=seed)
    load.start()
    try:
        if during is not None:
            during(sent)
    finally:
        load.wait()
    return Run(plan, sent, settle(api, plan, sent, time.monotonic()))


def assert_at_rest(run: Run) -> None:
    accepted = sum(1 for s in run.sent if s.order_id)
    assert accepted == len(run.sent), f"only {accepted}/{len(run.sent)} orders accepted"
    assert run.rest.stuck == 0 and not run.rest.breaks, run.rest.breaks[:10]


def deltas(probe: Probe, before: list[float], replicas: int) -> list[float]:
    return [after - b for after, b in zip(probe.read_all(replicas), before, strict=True)]


def assert_shared(what: str, per_instance: list[float]) -> None:
    total = sum(per_instance)
    fair = total / len(per_instance)
    assert total > 0, f"{what}: nothing counted"
    assert all(n >= FAIR_SHARE * fair for n in per_instance), f"{what}: {per_instance}"


def test_schema_creation_is_safe_when_instances_start_together(
    replicas: int, report: list[str]
) -> None:
    """Eight 'instances' create every service's tables in one new database at the same moment
    (Database.create_tables: create_all under a PostgreSQL advisory lock): none fails, and the
    schema is whole."""
    database = f"schema_race_{uuid.uuid4().hex[:8]}"
    admin = f"host={HOST} port={POSTGRES_PORT} user=postgres dbname=postgres"
    with psycopg.connect(admin, password=postgres_password(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{database}"')
    url = f"postgresql://postgres:{postgres_password()}@{HOST}:{POSTGRES_PORT}/{database}"
    instances = [Database(url) for _ in range(8)]
    barrier = threading.Barrier(len(instances))
    errors: list[BaseException] = []

    def start(db: Database) -> None:
        try:
            barrier.wait(timeout=30)
            create_tables(db)  # notification-service's: the models' tables plus its upgrade
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(db,)) for db in instances]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert not errors, [repr(e)[:300] for e in errors]
        present = set(inspect(instances[0].engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= present
    finally:
        for db in instances:
            db.engine.dispose()
        with psycopg.connect(admin, password=postgres_password(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    report.append(f"schema: {len(instances)} concurrent create_tables, 0 errors")


@pytest.fixture(scope="module")
def spread(api: httpx.Client, replicas: int) -> dict[str, list[float]]:
    """One load of SPREAD_ORDERS orders; what each instance did of it."""
    probes = {"charges": CHARGES, "sagas": SAGAS, "reservations": RESERVATIONS}
    before = {k: p.read_all(replicas) for k, p in probes.items()}
    run = run_load(api, SPREAD_ORDERS, window=15.0, seed=1)
    assert_at_rest(run)
    return {k: deltas(p, before[k], replicas) for k, p in probes.items()}


def test_invocation_spreads_charges_over_the_payment_instances(spread, report) -> None:  # type: ignore[no-untyped-def]
    """order-service's sidecar invokes payment-service by app id; mDNS name resolution returns
    every instance and the sidecar takes them in turn."""
    report.append(f"POST /payments/charge per payment-service instance: {spread['charges']}")
    assert_shared("charges", spread["charges"])


def test_placement_spreads_the_sagas_over_the_order_instances(spread, report) -> None:  # type: ignore[no-untyped-def]
    """Each workflow instance is an actor, placed on one of the order-service sidecars by
    placement's hash ring; the saga runs on that sidecar's workflow worker."""
    report.append(f"sagas started per order-service instance: {spread['sagas']}")
    assert_shared("sagas", spread["sagas"])


def test_the_consumer_group_shares_the_partitions(spread, replicas, report) -> None:  # type: ignore[no-untyped-def]
    """inventory-service's sidecars are one consumer group: each member is assigned its own
    partitions of reserve-stock, and each instance consumed some of the commands."""
    members = group_assignment("inventory-service")
    owned = [m.get("reserve-stock", []) for m in members]
    report.append(f"reserve-stock partitions per inventory-service member: {owned}")
    report.append(
        f"reserve-stock consumed per inventory-service instance: {spread['reservations']}"
    )
    assert len(members) == replicas
    assert all(owned), f"a member without a reserve-stock partition: {owned}"
    flat = [p for ps in owned for p in ps]
    assert sorted(flat) == list(range(TOPIC_PARTITIONS)), owned
    assert_shared("reserve-stock consumed", spread["reservations"])


@pytest.mark.parametrize(
    ("app_id", "probe"),
    [("order-service", SAGAS), ("inventory-service", RESERVATIONS)],
    ids=["order-service", "inventory-service"],
)
def test_losing_an_instance_loses_no_order_and_it_rejoins(  # type: ignore[no-untyped-def]
    api, replicas, report, app_id: str, probe: Probe
) -> None:
    """SIGKILL to the last instance (app and sidecar) while orders flow: every order still ends
    CONFIRMED or CANCELLED with the books right, the other instances take the work; restarted,
    the instance gets work again."""
    k = replicas
    survivors_before: list[float] = []
    killed_at: list[float] = []

    def kill_mid_load(sent: list[SentOrder]) -> None:
        wait_until(
            lambda: sum(1 for s in sent if s.order_id) >= KILL_ORDERS // 4,
            timeout=60,
            what="a quarter of the orders accepted",
        )
        survivors_before.extend(probe.read(i) for i in range(1, k))
        kill(app_id, k)
        killed_at.append(time.time())

    run = run_load(api, KILL_ORDERS, window=20.0, seed=2, during=kill_mid_load)
    assert_at_rest(run)
    took_over = [probe.read(i) - b for i, b in enumerate(survivors_before, start=1)]
    confirmed = sum(o["status"] == "CONFIRMED" for o in run.rest.orders.values())
    last_end = (run.rest.last_end or killed_at[0]) - killed_at[0]
    report.append(
        f"kill {name(app_id, k)}: {len(run.rest.orders)} orders, all terminal "
        f"({confirmed} confirmed), the last {last_end:.0f}s after the kill, 0 invariant "
        f"breaks; survivors' {probe.sample} after the kill: {took_over}"
    )
    assert sum(took_over) > 0, "the other instances did nothing after the kill"

    took = restart(app_id, k)
    rejoin = run_load(api, REJOIN_ORDERS, window=6.0, seed=3)
    assert_at_rest(rejoin)
    after_restart = probe.read(k)  # its counters start at 0 with the new process
    report.append(
        f"restart {name(app_id, k)}: ready in {took:.1f}s; {probe.sample} on it in the next "
        f"{REJOIN_ORDERS} orders: {after_restart:g}"
    )
    assert after_restart > 0, f"{name(app_id, k)} got no work after its restart"
