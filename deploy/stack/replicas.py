"""REPLICAS=N (PROFILE=postgres): N instances of the stateful-in-a-database services behind one
app id, each with its own sidecar and ports, on one machine.

Instance 1 is exactly what dapr.yaml describes (same process names, ports and logs as without
REPLICAS). Instance k (2..MAX_REPLICAS) is named `<app-id>-k` (its sidecar `<app-id>-k/daprd`,
logs `.run/logs/<app-id>-k.log` and `<app-id>-k.daprd.log`) and takes every port of instance 1
plus PORT_STEP * (k - 1): order-service 2 listens on 8011, its sidecar on 3511 / 20111 / 20211
(internal) / 9201 (metrics). All of them lie clear of the README's port table and below the
kernel's ephemeral range (tests/unit/test_replicas.py checks both).

The instances share their app id's Sentry identity (same SPIFFE ID, one token per app id) and
its tokens: to Dapr they are one app. Service invocation picks an instance through mDNS name
resolution; placement spreads the workflow actors over the order-service instances; each
service's sidecars form one Kafka consumer group, so the topics need at least MAX_REPLICAS
partitions (deploy/stack/kafka.py: TOPIC_PARTITIONS).

The gateway (a rate limit in memory per process) and notification-service stay single.
"""

from __future__ import annotations

import dataclasses
import os

from deploy.stack.runfile import AppSpec

REPLICATED = ("order-service", "inventory-service", "payment-service")
MAX_REPLICAS = 4
PORT_STEP = 10
# PostgreSQL's default max_connections (the stack's server runs with it); the superuser keeps
# superuser_reserved_connections (3) of them.
POSTGRES_MAX_CONNECTIONS = 100
POSTGRES_RESERVED = 3
# Connections kept free for everything else: psql, the tests' own clients, an operator.
POSTGRES_HEADROOM = 10
# The Dapr PostgreSQL state store's pool (order-service's sidecar, one per instance): pgxpool's
# default, the greater of 4 and the number of CPUs.
STATESTORE_CONNECTIONS = max(4, os.cpu_count() or 1)
# An app's SQLAlchemy pool without REPLICAS (apps/common/db.py): pool_size + max_overflow.
DEFAULT_APP_CONNECTIONS = 20

SQLITE_REFUSAL = (
    "REPLICAS>1 needs PROFILE=postgres: on the SQLite profile each service's database and the "
    "workflow actor state store are SQLite files on one machine, single-writer per process"
)


def replicas_from_env(profile: str) -> int:
    """REPLICAS from the environment (1 when unset); ValueError with a one-line reason."""
    raw = os.environ.get("REPLICAS", "").strip() or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_REPLICAS:
        raise ValueError(f"REPLICAS={raw!r}: use a whole number from 1 to {MAX_REPLICAS}")
    replicas = int(raw)
    if replicas > 1 and profile != "postgres":
        raise ValueError(SQLITE_REFUSAL)
    return replicas


def instance(app: AppSpec, k: int) -> AppSpec:
    """Instance k of an app: its ports shifted by PORT_STEP * (k - 1)."""
    shift = PORT_STEP * (k - 1)
    return dataclasses.replace(
        app,
        instance=k,
        app_port=app.app_port + shift,
        http_port=app.http_port + shift,
        grpc_port=app.grpc_port + shift,
        internal_grpc_port=app.internal_grpc_port + shift,
        metrics_port=app.metrics_port + shift,
        env=dict(app.env),
    )


def with_replicas(apps: list[AppSpec], replicas: int) -> list[AppSpec]:
    """The apps of dapr.yaml, each followed by its instances 2..replicas if it is replicated;
    with more than one, every app with a database gets a pool that fits (DB_POOL_SIZE,
    DB_MAX_OVERFLOW: apps/common/db.py)."""
    if replicas == 1:
        return apps
    pool_size, overflow = pool_per_instance(replicas, [a.app_id for a in apps if _has_db(a)])
    out: list[AppSpec] = []
    for app in apps:
        if _has_db(app):
            app.env |= {"DB_POOL_SIZE": str(pool_size), "DB_MAX_OVERFLOW": str(overflow)}
        out.append(app)
        if app.app_id in REPLICATED:
            out += [instance(app, k) for k in range(2, replicas + 1)]
    return out


def _has_db(app: AppSpec) -> bool:
    return bool(app.env.get("DB_NAME"))


def pool_per_instance(replicas: int, app_ids: list[str]) -> tuple[int, int]:
    """(pool_size, max_overflow) for each app instance with a database, so that all of them,
    the state stores and the headroom fit in max_connections:
    instances * (pool_size + max_overflow) + replicas * STATESTORE_CONNECTIONS
    + POSTGRES_RESERVED + POSTGRES_HEADROOM <= POSTGRES_MAX_CONNECTIONS."""
    instances = sum(replicas if a in REPLICATED else 1 for a in app_ids)
    budget = (
        POSTGRES_MAX_CONNECTIONS
        - POSTGRES_RESERVED
        - POSTGRES_HEADROOM
        - replicas * STATESTORE_CONNECTIONS
    )
    per_instance = min(DEFAULT_APP_CONNECTIONS, budget // instances)
    if per_instance < 2:
        raise ValueError(f"REPLICAS={replicas}: {instances} app instances do not fit PostgreSQL")
    pool_size = per_instance // 2
    return pool_size, per_instance - pool_size
