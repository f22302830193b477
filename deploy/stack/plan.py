"""What the stack runs: its profile, chaos mode, replicas and Kafka brokers (from the environment,
or as the running stack was started: RUN_DIR/stack-mode.json), and the phases of services that
`up` starts. Public: the runner, deploy/stack/control.py and the tests read the mode here."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass

from deploy.stack.chaos import (
    POSTGRES_PROXY_PORT,
    chaos_from_env,
    chaos_resources,
    toxiproxy_service,
)
from deploy.stack.infra import infra_services
from deploy.stack.kafka import bootstrap, brokers_from_env
from deploy.stack.launch import StackError
from deploy.stack.paths import CACHE_DIR, ROOT, RUN_DIR
from deploy.stack.process import Service
from deploy.stack.replicas import replicas_from_env, with_replicas
from deploy.stack.resources import kafka_resources, rewrite_resources
from deploy.stack.runfile import AppSpec, load_runfile
from deploy.stack.sentry import sentry_service
from deploy.stack.services import app_and_sidecar, control_plane

PROFILES = ("sqlite", "postgres")
MODE_FILE = RUN_DIR / "stack-mode.json"  # profile, chaos mode and replicas of the running stack


@dataclass(frozen=True)
class StackMode:
    profile: str
    chaos: bool
    replicas: int = 1
    kafka_brokers: int = 1
    infra: bool = False  # `make infra`: no apps, for the dapr CLI

    def write(self) -> None:
        """Kept while the stack runs: what a restart of one process plans with."""
        doc = {k: v for k, v in asdict(self).items() if k in ("profile", "chaos", "infra")}
        if self.replicas > 1:
            doc["replicas"] = self.replicas
        if self.kafka_brokers > 1:
            doc["kafka_brokers"] = self.kafka_brokers
        MODE_FILE.write_text(json.dumps(doc))

    def describe(self) -> str:
        mode = " in chaos mode (Toxiproxy)" if self.chaos else ""
        if self.replicas > 1:
            mode += f" with {self.replicas} instances of each replicated app"
        if self.kafka_brokers > 1:
            mode += f" and {self.kafka_brokers} Kafka brokers"
        return mode


def profile_from_env() -> str:
    profile = os.environ.get("PROFILE", "sqlite") or "sqlite"
    if profile == "default":
        profile = "sqlite"
    if profile not in PROFILES:
        raise StackError("profile", f"PROFILE={profile!r}: use one of {', '.join(PROFILES)}")
    return profile


def kafka_brokers_from_env() -> int:
    try:
        return brokers_from_env()
    except ValueError as err:
        raise StackError("kafka", str(err)) from err


def mode_from_env() -> StackMode:
    """The stack the environment asks for (PROFILE, CHAOS, REPLICAS, KAFKA_BROKERS)."""
    profile = profile_from_env()
    try:
        replicas = replicas_from_env(profile)
    except ValueError as err:
        raise StackError("replicas", str(err)) from err
    return StackMode(profile, chaos_from_env(), replicas, kafka_brokers_from_env())


def running_mode() -> StackMode:
    """The running stack's mode, else the environment's."""
    try:
        mode = json.loads(MODE_FILE.read_text())
        return StackMode(
            mode["profile"],
            mode["chaos"],
            int(mode.get("replicas", 1)),
            int(mode.get("kafka_brokers", 1)),
            bool(mode.get("infra", False)),
        )
    except (OSError, ValueError, KeyError):
        return mode_from_env()


def infra_only() -> bool:
    """True if what runs was started by `make infra` (for the dapr CLI), not `make up`."""
    try:
        return bool(json.loads(MODE_FILE.read_text()).get("infra"))
    except (OSError, ValueError):
        return False


def running_kafka_brokers() -> int:
    """How many Kafka brokers the running stack has (else the environment asks for)."""
    return running_mode().kafka_brokers


def app_ids(profile: str) -> list[str]:
    return [app.app_id for app in load_runfile(ROOT / "dapr.yaml", profile)]


def plan(
    profile: str, chaos: bool, replicas: int = 1, kafka_brokers: int = 1
) -> tuple[list[list[Service]], list[AppSpec]]:
    """Phases of services, each phase started together once the previous one is ready. Sentry
    has a phase of its own: every Dapr process after it asks it for a certificate at start.
    replicas: instances of each replicated app (deploy/stack/replicas.py); kafka_brokers: 1 or
    3 (deploy/stack/kafka.py)."""
    apps = with_replicas(load_runfile(ROOT / "dapr.yaml", profile), replicas)
    for app in apps:  # the apps' own admin client (readiness): every broker, never the count
        app.env = {**app.env, "KAFKA_BROKERS": bootstrap(kafka_brokers)}
    if not chaos:  # exactly what `dapr run -f dapr.yaml` starts, beside the infrastructure
        if kafka_brokers > 1:
            rewrite_resources(apps, lambda paths: kafka_resources(paths, RUN_DIR, kafka_brokers))
        pairs = [s for app in apps for s in app_and_sidecar(app, profile)]
        infra = infra_services(profile, RUN_DIR, CACHE_DIR, False, kafka_brokers)
        return [infra, [sentry_service()], control_plane(), pairs], apps
    rewrite_resources(apps, lambda paths: chaos_resources(paths, RUN_DIR, kafka_brokers))
    pairs = [s for app in apps for s in app_and_sidecar(app, profile, POSTGRES_PROXY_PORT)]
    infra = infra_services(profile, RUN_DIR, CACHE_DIR, True, kafka_brokers)
    toxiproxy = toxiproxy_service(profile, RUN_DIR, CACHE_DIR, kafka_brokers)
    return [[toxiproxy], infra, [sentry_service()], control_plane(), pairs], apps


def planned_service(name: str) -> Service:
    """One process of the running stack as `up` planned it (the stack's profile, chaos mode and
    replicas); KeyError if the stack has no process of that name."""
    mode = running_mode()
    phases, _apps = plan(mode.profile, mode.chaos, mode.replicas, mode.kafka_brokers)
    found = next((s for phase in phases for s in phase if s.name == name), None)
    if found is None:
        raise KeyError(f"the stack has no process named {name!r}")
    return found
