"""The stack the chaos suite runs against: started with CHAOS=1 and short saga timeouts (or a
running one reused as it is), checked whole before each fault."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.kafka_admin import kafka_answers
from deploy.stack.paths import ROOT
from deploy.stack.plan import profile_from_env, running_kafka_brokers
from deploy.stack.process import http_ok
from deploy.stack.records import alive, records
from deploy.stack.replicas import replicas_from_env, with_replicas
from deploy.stack.runfile import load_runfile
from tests.chaos.faults import PAUSE_MARGIN_SECONDS, FaultError, ToxiproxyClient, restart

# Short, like tests/integration/conftest.py, so pauses can outlast them in a few seconds.
SAGA_TIMEOUTS = {"STOCK_REPLY_TIMEOUT_SECONDS": "8", "PAYMENT_DEADLINE_SECONDS": "6"}
# The suite checks faults, not the gateway's rate limit: its admin client reads every order of
# a fault back (hundreds of calls in a few seconds), which the default per-client rate would slow.
GATEWAY_RATE = {"RATE_LIMIT_PER_SECOND": "1000", "RATE_LIMIT_BURST": "2000"}
INHERITED = [*SAGA_TIMEOUTS, "CHAOS", "REFUND_DEADLINE_SECONDS"]


@dataclass
class ChaosStack:
    profile: str
    stock_timeout: float
    payment_deadline: float
    toxiproxy: ToxiproxyClient | None
    toxiproxy_missing: str  # why there is no Toxiproxy client ("" if there is one)
    started_here: bool
    kafka_brokers: int = 1
    replicas: int = 1  # instances of each replicated app (REPLICAS, PROFILE=postgres)

    @property
    def label(self) -> str:
        """How results name the stack: `sqlite`, `sqlite, 3 brokers`, `postgres REPLICAS=2`."""
        brokers = f", {self.kafka_brokers} brokers" if self.kafka_brokers > 1 else ""
        return self.profile + brokers + (f" REPLICAS={self.replicas}" if self.replicas > 1 else "")

    @property
    def pause_seconds(self) -> float:
        return max(self.stock_timeout, self.payment_deadline) + PAUSE_MARGIN_SECONDS


def start() -> ChaosStack:
    """Starts the stack (CHAOS=1, short saga timeouts) unless one is running. A running one is
    used as it is: its order-service tells which timeouts it runs with, and the processes this
    suite restarts get the same settings."""
    running = [r for r in records() if alive(r)]
    if running:
        profile = "postgres" if any(r["name"] == "postgres" for r in running) else "sqlite"
        if profile != profile_from_env():
            raise RuntimeError(f"a {profile} stack is running; PROFILE asks for another")
        os.environ.update(_environment_of("order-service"))
    else:
        os.environ["CHAOS"] = "1"
        for key, value in {**SAGA_TIMEOUTS, **GATEWAY_RATE}.items():
            os.environ.setdefault(key, value)
        done = subprocess.run([sys.executable, "-m", "deploy.stack", "up"], cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError("`python -m deploy.stack up` failed (its output says why)")
    toxiproxy, missing = _toxiproxy()
    return ChaosStack(
        profile=profile_from_env(),
        stock_timeout=float(os.environ.get("STOCK_REPLY_TIMEOUT_SECONDS", "30")),
        payment_deadline=float(os.environ.get("PAYMENT_DEADLINE_SECONDS", "20")),
        toxiproxy=toxiproxy,
        toxiproxy_missing=missing,
        started_here=not running,
        kafka_brokers=running_kafka_brokers(),
        replicas=replicas_from_env(profile_from_env()),
    )


def stop(stack: ChaosStack) -> None:
    if stack.toxiproxy is not None:
        stack.toxiproxy.reset()
    if stack.started_here:
        subprocess.run([sys.executable, "-m", "deploy.stack", "down"], cwd=ROOT, check=False)


def _environment_of(name: str) -> dict[str, str]:
    pid = next((r["pid"] for r in records() if r["name"] == name), None)
    if pid is None:
        return {}
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    pairs = (item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
    return {k: v for k, v in pairs if k in INHERITED}


def _toxiproxy() -> tuple[ToxiproxyClient | None, str]:
    try:
        from deploy.stack.toxiproxy import Toxiproxy  # added with the stack's chaos mode
    except ImportError:
        return None, "deploy/stack/toxiproxy.py does not exist yet"
    client = Toxiproxy()
    if not client.available():
        return None, "Toxiproxy does not answer (was the stack started with CHAOS=1?)"
    client.reset()
    return client, ""


def make_whole(
    profile: str, timeout: float = 120.0, kafka_brokers: int = 1, replicas: int = 1
) -> list[str]:
    """Restarts any process of the stack that is dead, then waits until Kafka and every app
    (its database and sidecar) answer. Returns what is still wrong at the deadline."""
    problems = []
    for rec in records():
        if not alive(rec):
            try:
                restart(rec["name"])
            except FaultError as err:
                problems.append(str(err))
    apps = with_replicas(load_runfile(ROOT / "dapr.yaml", profile), replicas)
    deadline = time.monotonic() + timeout
    while True:
        waiting = [a.name for a in apps if not http_ok(f"http://127.0.0.1:{a.app_port}/readyz")]
        if not kafka_answers(kafka_brokers):
            waiting.append("kafka")
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    return problems + [f"{name} not ready after {timeout:.0f}s" for name in waiting]
