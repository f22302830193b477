"""Reads dapr.yaml (the dapr CLI's multi-app run file) into the processes it describes."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml


@dataclass
class AppSpec:
    app_id: str
    app_dir: Path
    app_port: int
    http_port: int
    grpc_port: int
    internal_grpc_port: int
    metrics_port: int
    command: list[str]
    resources_paths: list[Path]
    config: Path
    placement: str
    scheduler: str
    health_path: str
    health_check: bool
    health_interval: int
    health_threshold: int
    listen_addresses: str = "127.0.0.1"
    app_protocol: str = "http"
    env: dict[str, str] = field(default_factory=dict)
    instance: int = 1  # REPLICAS: instance k of the app id (deploy/stack/replicas.py)

    @property
    def name(self) -> str:
        """Its process name: the app id, or `<app-id>-k` for instance k > 1."""
        return self.app_id if self.instance == 1 else f"{self.app_id}-{self.instance}"


# Keys the dapr CLI would fill with defaults (50005/50006) or random free ports, which may lie in
# the ephemeral port range: this stack fixes every port, so dapr.yaml must give them.
# apiListenAddresses: the CLI's default is every interface; the stack listens on the loopback.
REQUIRED = (
    "daprGRPCPort",
    "daprInternalGRPCPort",
    "placementHostAddress",
    "schedulerHostAddress",
    "apiListenAddresses",
)


def load_runfile(path: Path, profile: str) -> list[AppSpec]:
    doc = yaml.safe_load(path.read_text())
    common = doc.get("common", {})
    base = path.parent
    specs = []
    for app in doc["apps"]:
        merged = {**common, **app, "env": {**common.get("env", {}), **app.get("env", {})}}
        missing = [key for key in REQUIRED if key not in merged]
        if missing:
            raise ValueError(f"{path}: app {merged.get('appID')} has no {', '.join(missing)}")
        paths = [base / p for p in merged["resourcesPaths"]]
        if profile == "postgres":  # the one place the profile changes the topology
            paths = [p.parent / "postgres" if p.name == "sqlite" else p for p in paths]
        app_port = int(merged["appPort"])
        if merged["appID"] == "gateway" and os.environ.get("GATEWAY_PORT"):
            app_port = int(os.environ["GATEWAY_PORT"])
        specs.append(
            AppSpec(
                app_id=merged["appID"],
                app_dir=(base / merged.get("appDirPath", ".")).resolve(),
                app_port=app_port,
                http_port=int(merged["daprHTTPPort"]),
                grpc_port=int(merged["daprGRPCPort"]),
                internal_grpc_port=int(merged["daprInternalGRPCPort"]),
                metrics_port=int(merged["metricsPort"]),
                command=list(merged["command"]),
                resources_paths=[p.resolve() for p in paths],
                config=(base / merged["configFilePath"]).resolve(),
                placement=merged["placementHostAddress"],
                scheduler=merged["schedulerHostAddress"],
                health_path=merged.get("appHealthCheckPath", "/healthz"),
                health_check=bool(merged.get("enableAppHealthCheck", False)),
                health_interval=int(merged.get("appHealthProbeInterval", 5)),
                health_threshold=int(merged.get("appHealthThreshold", 3)),
                listen_addresses=str(merged["apiListenAddresses"]),
                app_protocol=str(merged.get("appProtocol", "http")),
                env={k: str(v) for k, v in merged["env"].items()},
            )
        )
    return specs
