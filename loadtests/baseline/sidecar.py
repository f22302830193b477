"""Starts and stops the baseline app and its own daprd: the stack's daprd binary, placement and
scheduler, app id `bench-baseline`, ports 21000-21003 on 127.0.0.1, a SQLite actor state store
of its own, tracing as order-service's sidecar has it (its samplingRate, to the stack's Zipkin).

The processes are recorded like the stack's (.run/pids), so `make down` stops them too if a bench
run is interrupted; `stop()` stops exactly these two."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from deploy.stack import launch
from deploy.stack.paths import LOG_DIR, ROOT, RUN_DIR, dapr_bin
from deploy.stack.process import Service, http_ok
from deploy.stack.records import alive, record_path, records
from deploy.stack.sentry import daprd_mtls_args, daprd_trust_env, identity_env
from deploy.stack.services import PLACEMENT_PORT, SCHEDULER_PORT

APP_ID = "bench-baseline"  # never one of the stack's app ids
# Below the ephemeral port range, like every port of the stack (README, Ports).
HTTP_PORT, GRPC_PORT, METRICS_PORT, INTERNAL_GRPC_PORT = 21000, 21001, 21002, 21003
NAMES = (APP_ID, f"{APP_ID}/daprd")


@dataclass(frozen=True)
class BaselineDirs:
    root: Path

    @property
    def components(self) -> Path:
        return self.root / "components"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"


def sampling_rate(app_id: str = "order-service") -> str:
    doc = yaml.safe_load((ROOT / "dapr" / f"{app_id}.yaml").read_text())
    return str(doc["spec"].get("tracing", {}).get("samplingRate", "0"))


def write_resources(dirs: BaselineDirs) -> None:
    dirs.components.mkdir(parents=True, exist_ok=True)
    store = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "baseline-state"},
        "spec": {
            "type": "state.sqlite",
            "version": "v1",
            "metadata": [
                {"name": "connectionString", "value": str(dirs.root / "state.db")},
                {"name": "actorStateStore", "value": "true"},
                {"name": "busyTimeout", "value": "5s"},
            ],
        },
    }
    config = {
        "apiVersion": "dapr.io/v1alpha1",
        "kind": "Configuration",
        "metadata": {"name": APP_ID},
        "spec": {
            "tracing": {
                "samplingRate": sampling_rate(),
                "zipkin": {"endpointAddress": "http://127.0.0.1:9411/api/v2/spans"},
            },
            "metrics": {"enabled": True},
        },
    }
    (dirs.components / "statestore.yaml").write_text(yaml.safe_dump(store))
    dirs.config.write_text(yaml.safe_dump(config))


STACK_PLACEMENT = f"127.0.0.1:{PLACEMENT_PORT}"
STACK_SCHEDULER = f"127.0.0.1:{SCHEDULER_PORT}"


def services(
    dirs: BaselineDirs, placement: str = STACK_PLACEMENT, scheduler: str = STACK_SCHEDULER
) -> list[Service]:
    daprd = [
        str(dapr_bin("daprd")),
        *("--app-id", APP_ID, "--dapr-listen-addresses", "127.0.0.1"),
        *("--dapr-http-port", str(HTTP_PORT), "--dapr-grpc-port", str(GRPC_PORT)),
        *("--dapr-internal-grpc-port", str(INTERNAL_GRPC_PORT)),
        *("--dapr-internal-grpc-listen-address", "127.0.0.1"),
        *("--metrics-port", str(METRICS_PORT), "--metrics-listen-address", "127.0.0.1"),
        *("--config", str(dirs.config), "--resources-path", str(dirs.components)),
        *("--placement-host-address", placement, "--scheduler-host-address", scheduler),
        "--log-as-json",
        *daprd_mtls_args(),  # the stack's placement and scheduler serve mTLS only
    ]
    app_env = {
        "DAPR_GRPC_PORT": str(GRPC_PORT),
        "DAPR_HTTP_PORT": str(HTTP_PORT),
        "DAPR_API_TOKEN": "",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": str(ROOT),
    }
    return [
        Service(
            name=f"{APP_ID}/daprd",
            argv=daprd,
            log=LOG_DIR / f"{APP_ID}.daprd.log",
            cwd=dirs.root,
            env={"DAPR_API_TOKEN": "", "APP_API_TOKEN": "", **identity_env(APP_ID)},
            late_env=daprd_trust_env,
            ports=[HTTP_PORT, GRPC_PORT, METRICS_PORT, INTERNAL_GRPC_PORT],
            ready=lambda: http_ok(f"http://127.0.0.1:{HTTP_PORT}/v1.0/healthz"),
        ),
        Service(
            name=APP_ID,
            argv=[sys.executable, "-m", "loadtests.baseline.app"],
            log=LOG_DIR / f"{APP_ID}.log",
            cwd=ROOT,
            env=app_env,
            ready=lambda: workers_connected() > 0,
        ),
    ]


def workers_connected() -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{HTTP_PORT}/v1.0/metadata", timeout=2) as r:
            return int(json.load(r).get("workflows", {}).get("connectedWorkers", 0))
    except (OSError, ValueError):
        return 0


def start(
    dirs: BaselineDirs | None = None,
    placement: str = STACK_PLACEMENT,
    scheduler: str = STACK_SCHEDULER,
) -> dict[str, int]:
    """Starts daprd, then the worker; returns their PIDs by name once the worker is connected.
    Placement and scheduler are the running stack's unless named."""
    dirs = dirs or BaselineDirs(RUN_DIR / "bench" / "baseline")
    write_resources(dirs)
    for svc in services(dirs, placement, scheduler):
        proc, offset = launch.start(svc)
        launch.start_until_ready(svc, proc, offset)
    return pids()


def pids() -> dict[str, int]:
    return {r["name"]: r["pid"] for r in records() if r["name"] in NAMES and alive(r)}


def stop() -> None:
    """Stops the two baseline processes (by their recorded PIDs), worker first."""
    for name in NAMES:
        for rec in [r for r in records() if r["name"] == name]:
            if alive(rec):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(rec["pid"], signal.SIGTERM)
                deadline = time.monotonic() + 10
                while alive(rec) and time.monotonic() < deadline:
                    time.sleep(0.1)
                if alive(rec):
                    os.killpg(rec["pid"], signal.SIGKILL)
            record_path(name).unlink(missing_ok=True)
