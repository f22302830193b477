"""The Dapr control plane and the app/sidecar pairs, as Services the runner starts. Every Dapr
process here speaks mTLS only, with a certificate from Sentry (deploy/stack/sentry.py)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import quote

from deploy.stack.configuration import app_tracing_env, configuration
from deploy.stack.identity import SCHEDULER_IDENTITY_DIR
from deploy.stack.paths import LOG_DIR, ROOT, RUN_DIR, dapr_bin
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST, Service, http_ok
from deploy.stack.runfile import AppSpec
from deploy.stack.secrets import load_tokens, postgres_password
from deploy.stack.sentry import (
    SENTRY_ADDRESS,
    control_plane_mtls_args,
    daprd_mtls_args,
    daprd_trust_env,
    identity_env,
)

# Placement and scheduler default their health and metrics ports to 8080/9090: moved away. Their
# API ports are Dapr's 50005/50006 moved below the ephemeral range (dapr.yaml names the same).
PLACEMENT_PORT, PLACEMENT_HEALTH, PLACEMENT_METRICS, PLACEMENT_RAFT = 20005, 8081, 9091, 8201
SCHEDULER_PORT, SCHEDULER_HEALTH, SCHEDULER_METRICS = 20006, 8082, 9093
SCHEDULER_ETCD_CLIENT = 2379
POSTGRES_DATABASES = {"orders", "inventory", "payments", "notifications"}


def control_plane(sentry_address: str = SENTRY_ADDRESS, tokens: bool = True) -> list[Service]:
    """tokens: placement and scheduler show Sentry their identity tokens (not to an insecure
    Sentry, `make infra`)."""
    return [placement_service(sentry_address, tokens), scheduler_service(sentry_address, tokens)]


def _control_plane_args(binary: str, port: int, health: int, metrics: int) -> list[str]:
    """What placement and scheduler share: their API, health and metrics ports, all on the
    loopback."""
    return [
        str(dapr_bin(binary)),
        "--port",
        str(port),
        "--listen-address",
        "127.0.0.1",
        "--healthz-port",
        str(health),
        "--healthz-listen-address",
        "127.0.0.1",
        "--metrics-port",
        str(metrics),
        "--metrics-listen-address",
        "127.0.0.1",
    ]


def placement_service(sentry_address: str, tokens: bool) -> Service:
    return Service(
        name="placement",
        argv=[
            *_control_plane_args("placement", PLACEMENT_PORT, PLACEMENT_HEALTH, PLACEMENT_METRICS),
            "--log-as-json",
            *control_plane_mtls_args(sentry_address),
        ],
        env=identity_env("dapr-placement", tokens),
        log=LOG_DIR / "placement.log",
        cwd=RUN_DIR,
        ports=[PLACEMENT_PORT, PLACEMENT_HEALTH, PLACEMENT_METRICS, PLACEMENT_RAFT],
        ready=lambda: http_ok(f"http://127.0.0.1:{PLACEMENT_HEALTH}/healthz"),
    )


def scheduler_service(sentry_address: str, tokens: bool) -> Service:
    scheduler_data = RUN_DIR / "scheduler"
    return Service(
        name="scheduler",
        argv=[
            *_control_plane_args("scheduler", SCHEDULER_PORT, SCHEDULER_HEALTH, SCHEDULER_METRICS),
            "--etcd-data-dir",
            str(scheduler_data),
            "--etcd-client-port",
            str(SCHEDULER_ETCD_CLIENT),
            # Every saga creates and deletes about 7 jobs: 14 etcd revisions. Dapr's defaults
            # (keep 1,000,000 revisions, snapshot every 100,000 entries) are sized for a
            # cluster; here the scheduler's memory grew all through a 20,000-order soak
            # (292 -> 659 MiB, docs/bench/soak). Five minutes of history is plenty for its
            # watchers, which follow within milliseconds.
            "--etcd-compaction-mode",
            "periodic",
            "--etcd-compaction-retention",
            "5m",
            "--etcd-snapshot-count",
            "10000",
            "--log-as-json",
            *control_plane_mtls_args(sentry_address),
            # Its own certificate for etcd; by default it goes to $TMPDIR/secrets.
            "--identity-directory-write",
            str(SCHEDULER_IDENTITY_DIR),
        ],
        env=identity_env("dapr-scheduler", tokens),
        log=LOG_DIR / "scheduler.log",
        cwd=RUN_DIR,
        ports=[
            SCHEDULER_PORT,
            SCHEDULER_HEALTH,
            SCHEDULER_METRICS,
            SCHEDULER_ETCD_CLIENT,
            SCHEDULER_ETCD_CLIENT + 1,
        ],
        ready=lambda: http_ok(f"http://127.0.0.1:{SCHEDULER_HEALTH}/healthz"),
        prepare=lambda: _prepare_scheduler(scheduler_data),
    )


def _prepare_scheduler(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    # The scheduler writes its identity as a new directory renamed into place: it refuses to
    # start if one is there already (a restart during the run).
    shutil.rmtree(SCHEDULER_IDENTITY_DIR, ignore_errors=True)


# components/postgres/secretstore.yaml serves the sidecar's variables with this prefix (and no
# others): the workflow state store's connection string comes from there, not from its YAML.
SECRET_ENV_PREFIX = "ORDER_PLATFORM_SECRET_"


def app_env(app: AppSpec, profile: str, postgres_port: int = POSTGRES_PORT) -> dict[str, str]:
    """The app's environment. The tokens: DAPR_API_TOKEN to call its sidecar (the Dapr SDKs read
    it too), APP_API_TOKEN to check that a call comes from its sidecar (none for the gateway)."""
    tokens = load_tokens()[app.app_id]
    env = {
        **app.env,
        "APP_ID": app.app_id,
        "APP_PORT": str(app.app_port),
        "DAPR_HTTP_PORT": str(app.http_port),
        "DAPR_GRPC_PORT": str(app.grpc_port),
        "DAPR_METRICS_PORT": str(app.metrics_port),
        "DATA_DIR": str(RUN_DIR / "data"),
        "PYTHONUNBUFFERED": "1",
        "PATH": f"{ROOT / '.venv/bin'}:{os.environ.get('PATH', '')}",
        "DAPR_API_TOKEN": tokens.dapr,
        # Empty (no check) for the gateway, also over one inherited from the caller's shell.
        "APP_API_TOKEN": tokens.app or "",
        **app_tracing_env(os.environ),
    }
    if profile == "postgres" and app.env.get("DB_NAME"):
        password = quote(postgres_password(), safe="")
        env["DATABASE_URL"] = (
            f"postgresql://postgres:{password}@{HOST}:{postgres_port}/{app.env['DB_NAME']}"
        )
    return env


def sidecar_env(app: AppSpec, profile: str) -> dict[str, str]:
    """The sidecar's environment: the token it requires (DAPR_API_TOKEN), the one it sends
    to its app (APP_API_TOKEN) and the one that gets it its certificate from Sentry (a file);
    in the postgres profile, the state store's connection string.
    Only the sidecars in the secret store's scopes (order-service) load it; the others ignore it."""
    tokens = load_tokens()[app.app_id]
    env = {
        "DAPR_API_TOKEN": tokens.dapr,
        "APP_API_TOKEN": tokens.app or "",
        **identity_env(app.app_id),
    }
    if profile == "postgres":  # the workflow state stays direct to PostgreSQL, chaos mode too
        env[f"{SECRET_ENV_PREFIX}STATESTORE_CONNECTION"] = sidecar_statestore_connection()
    return env


def sidecar_statestore_connection() -> str:
    """PROFILE=postgres: the workflow state store's connection string, password included."""
    return (
        f"host={HOST} port={POSTGRES_PORT} user=postgres password={postgres_password()} "
        "dbname=dapr_state sslmode=disable"
    )


def app_and_sidecar(
    app: AppSpec, profile: str, postgres_port: int = POSTGRES_PORT
) -> list[Service]:
    """postgres_port: where the app reaches PostgreSQL (a Toxiproxy port in chaos mode)."""
    return [app_service(app, profile, postgres_port), sidecar_service(app, profile)]


def app_service(app: AppSpec, profile: str, postgres_port: int = POSTGRES_PORT) -> Service:
    program = app.command[0]
    return Service(
        name=app.name,
        argv=[str(app.app_dir / program) if program.startswith(".") else program, *app.command[1:]],
        log=LOG_DIR / f"{app.name}.log",
        cwd=app.app_dir,
        env=app_env(app, profile, postgres_port),
        ports=[app.app_port],
        ready=lambda: http_ok(f"http://127.0.0.1:{app.app_port}/healthz"),
    )


def sidecar_service(app: AppSpec, profile: str) -> Service:
    return Service(
        name=f"{app.name}/daprd",
        argv=daprd_argv(app),
        log=LOG_DIR / f"{app.name}.daprd.log",
        cwd=app.app_dir,
        env=sidecar_env(app, profile),
        late_env=daprd_trust_env,
        ports=[app.http_port, app.grpc_port, app.metrics_port, app.internal_grpc_port],
        ready=lambda: http_ok(f"http://127.0.0.1:{app.http_port}/v1.0/healthz"),
    )


def daprd_argv(app: AppSpec) -> list[str]:
    """The sidecar's command line, as the dapr CLI builds it from dapr.yaml, every listener on
    the loopback."""
    argv = [
        str(dapr_bin("daprd")),
        "--app-id",
        app.app_id,
        "--app-port",
        str(app.app_port),
        "--app-protocol",
        app.app_protocol,
        "--dapr-listen-addresses",
        app.listen_addresses,
        "--dapr-http-port",
        str(app.http_port),
        "--dapr-grpc-port",
        str(app.grpc_port),
        "--dapr-internal-grpc-port",
        str(app.internal_grpc_port),
        "--dapr-internal-grpc-listen-address",
        "127.0.0.1",
        "--metrics-port",
        str(app.metrics_port),
        "--enable-metrics",
        "--metrics-listen-address",
        "127.0.0.1",
        "--config",
        str(configuration(app.config, os.environ)),
        "--placement-host-address",
        app.placement,
        "--scheduler-host-address",
        app.scheduler,
        "--log-as-json",
        *daprd_mtls_args(),
    ]
    for path in app.resources_paths:
        argv += ["--resources-path", str(path)]
    if app.health_check:
        argv += [
            "--enable-app-health-check",
            "--app-health-check-path",
            app.health_path,
            "--app-health-probe-interval",
            str(app.health_interval),
            "--app-health-threshold",
            str(app.health_threshold),
        ]
    return argv
