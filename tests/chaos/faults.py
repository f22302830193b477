"""The fault catalogue: one entry per fault, each bounded in time and undone before it returns.

Process faults act on the running stack's own processes (deploy/stack/runner.py records them
by name): kill -9 and restart, or SIGSTOP/SIGCONT. Network faults are Toxiproxy toxics on the
`kafka` proxy (sidecars to Kafka) and the `postgres` proxy (apps to PostgreSQL), which the
stack puts in between when started with CHAOS=1.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx

from deploy.stack.control import start_one, stop_one
from deploy.stack.launch import StackError
from deploy.stack.records import records
from deploy.stack.replicas import REPLICATED
from tests.chaos import broker_faults
from tests.chaos.replica_faults import (
    REPLICA_KINDS,
    inject_replica_fault,
    replica_catalogue,
    replica_subset,
)

APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]
KILL_DOWN_SECONDS = 5.0  # how long a killed process stays dead before it is started again
NETWORK_SECONDS = 15.0
BREAKER_MAX_SECONDS = 60.0
PAUSE_MARGIN_SECONDS = 4.0  # a pause outlasts the saga's longest timeout by this much
ORDER_METRICS = "http://127.0.0.1:8001/metrics"

# Toxiproxy toxics: (type, attributes). Downstream: what the server sends back.
TOXICS = {
    "latency": ("latency", {"latency": 2000, "jitter": 0}),
    # Data stops and each connection is closed after 5 s, new ones too, while it lasts.
    "timeout": ("timeout", {"timeout": 5000}),
    "reset_peer": ("reset_peer", {"timeout": 0}),
    "bandwidth": ("bandwidth", {"rate": 8}),  # KB/s
}
NETWORK_KINDS = [*TOXICS, "disabled"]
PROCESS_KINDS = ["kill", "pause", "rolling"]
# make test's network faults: each kind once, split between the two proxies.
SUBSET_NETWORK = {
    "kafka": ["timeout", "disabled", "bandwidth"],
    "postgres": ["latency", "reset_peer"],
}
TWINNED_KINDS = ("kill-pod", "pause-pod", "rolling", "pause")  # not rebalance: placement has none
KINDS = [*PROCESS_KINDS, *NETWORK_KINDS, "breaker", *(k for k in REPLICA_KINDS if k != "rolling")]


class ToxiproxyClient(Protocol):
    """deploy/stack/toxiproxy.py:Toxiproxy, as far as the faults use it."""

    def add_toxic(
        self,
        proxy: str,
        name: str,
        type: str,
        attributes: dict,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> None: ...
    def remove_toxic(self, proxy: str, name: str) -> None: ...
    def disable(self, proxy: str) -> None: ...
    def enable(self, proxy: str) -> None: ...
    def reset(self) -> None: ...
    def proxies(self) -> dict: ...


@dataclass(frozen=True)
class Fault:
    kind: str  # one of KINDS
    target: str  # a process of the stack, or a Toxiproxy proxy
    of_cluster: bool = False  # a broker of KAFKA_BROKERS=3 (tests/chaos/broker_faults.py)

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.target}"

    @property
    def network(self) -> bool:
        return self.kind in NETWORK_KINDS

    def leaves_a_twin(self, replicas: int) -> bool:
        """Whether what the fault hits has a healthy twin all along (another instance of the
        app, two brokers of three): then no client request may fail (issue 22)."""
        if self.of_cluster:
            return True
        instance = self.target.split("/")[0]
        replicated = instance in REPLICATED or instance.rsplit("-", 1)[0] in REPLICATED
        return replicas > 1 and replicated and self.kind in TWINNED_KINDS

    def expected_seconds(self, pause_seconds: float) -> float:
        """Roughly how long the fault lasts, to spread the load around it."""
        if self.of_cluster and self.kind in ("kill", "pause"):
            return broker_faults.BROKER_DOWN_SECONDS + 15.0  # a broker of three (broker_faults.py)
        return {
            "kill": KILL_DOWN_SECONDS + (25.0 if self.target in ("kafka", "postgres") else 5.0),
            "pause": pause_seconds,
            "breaker": pause_seconds + 4.0,
            "kill-pod": KILL_DOWN_SECONDS + 10.0,
            "pause-pod": pause_seconds,
            "rebalance": KILL_DOWN_SECONDS + 15.0,
            "rolling": 40.0,  # 3 x (stop 2.4 s, start 2-10 s, in sync < 1 s): measured
        }.get(self.kind, NETWORK_SECONDS)


def cluster_faults() -> list[Fault]:
    """KAFKA_BROKERS=3: one broker killed and restarted (broker 1, first in every bootstrap
    list), another paused, then all three restarted one after the other."""
    return [
        Fault("kill", "kafka", of_cluster=True),
        Fault("pause", "kafka-2", of_cluster=True),
        Fault("rolling", "kafka", of_cluster=True),
    ]


def catalogue(profile: str, kafka_brokers: int = 1, replicas: int = 1) -> list[Fault]:
    """Every fault, for `make chaos`; with three brokers the broker faults, with replicas the
    faults of instances (tests/chaos/replica_faults.py), both when both."""
    shaped = (
        [Fault(kind, target) for kind, target in replica_catalogue(replicas)]
        if replicas > 1
        else []
    )
    if kafka_brokers > 1:
        shaped += cluster_faults()
    if shaped:
        return shaped
    killed = [*APPS, *(f"{a}/daprd" for a in APPS), "kafka", "placement", "scheduler"]
    proxies = ["kafka"]
    if profile == "postgres":
        killed.append("postgres")
        proxies.append("postgres")
    return [
        *(Fault("kill", name) for name in killed),
        *(Fault("pause", name) for name in ["kafka", *APPS]),
        *(Fault(kind, proxy) for proxy in proxies for kind in NETWORK_KINDS),
        Fault("breaker", "payment-service"),
    ]


def subset(profile: str, kafka_brokers: int = 1, replicas: int = 1) -> list[Fault]:
    """Every fault kind once, for `make test` (`make chaos` runs each on every target). On
    SQLite: Kafka killed and paused, the breaker, and network faults between the sidecars and
    Kafka. With replicas, each replica kind once; with three brokers, the broker faults; both
    when both, and then on PostgreSQL the other network kinds, between the apps and the
    database (SUBSET_NETWORK: each kind once, on one proxy or the other)."""
    shaped = (
        [Fault(kind, target) for kind, target in replica_subset(replicas)] if replicas > 1 else []
    )
    if kafka_brokers > 1:
        shaped += cluster_faults()
    if shaped:
        # PostgreSQL's network faults ride along (its proxy is there in any shape), so that
        # make test needs no single-instance PostgreSQL chaos stack of its own.
        database = [Fault(kind, "postgres") for kind in SUBSET_NETWORK["postgres"]]
        return shaped + (database if profile == "postgres" else [])
    # A single-instance PostgreSQL stack (not in make test) takes every network kind.
    proxy = "postgres" if profile == "postgres" else "kafka"
    kinds = NETWORK_KINDS if profile == "postgres" else SUBSET_NETWORK["kafka"]
    return [
        Fault("kill", "kafka"),
        Fault("pause", "kafka"),
        *(Fault(kind, proxy) for kind in kinds),
        Fault("breaker", "payment-service"),
    ]


class FaultError(Exception):
    """The fault could not be applied or undone (the stack may be left damaged)."""


@dataclass
class Window:
    start: float  # monotonic
    end: float  # monotonic: when the fault was fully undone (restarted process ready)
    end_wall: float
    note: str
    effective: bool = True  # False: the fault did not do what it is for (breaker never opened)


def inject(
    fault: Fault,
    pause_seconds: float,
    toxiproxy: ToxiproxyClient | None,
    kafka_brokers: int = 1,
    replicas: int = 1,
) -> Window:
    """Applies the fault, holds it, undoes it; returns when the stack is whole again (with
    several brokers: once no partition is under-replicated)."""
    start = time.monotonic()
    effective = True
    if fault.kind in REPLICA_KINDS and not fault.of_cluster:
        note = inject_replica_fault(fault.kind, fault.target, pause_seconds, replicas)
    elif fault.kind in PROCESS_KINDS:
        try:
            note = _process_fault(fault, pause_seconds, kafka_brokers)
        except broker_faults.NotInSync as err:
            raise FaultError(str(err)) from err
    elif fault.kind == "breaker":
        note, effective = _payment_outage(at_least=pause_seconds)
    else:
        if toxiproxy is None:
            raise FaultError("Toxiproxy is not available (start the stack with CHAOS=1)")
        try:
            note, effective = _network(toxiproxy, fault)
        except RuntimeError as err:  # the Toxiproxy API refused or did not answer
            raise FaultError(str(err)) from err
    return Window(start, time.monotonic(), time.time(), note, effective)


def _process_fault(fault: Fault, pause_seconds: float, kafka_brokers: int) -> str:
    """A kill, pause or rolling restart; returns its note."""
    cluster = kafka_brokers > 1 and broker_faults.is_broker(fault.target)
    if fault.kind == "rolling":
        return broker_faults.rolling_restart(kafka_brokers, restart)
    if fault.kind == "kill" and cluster:
        return broker_faults.kill_broker(fault.target, kafka_brokers, restart)
    if fault.kind == "kill":
        return _kill(fault.target)
    if cluster:
        return broker_faults.pause_broker(fault.target, kafka_brokers)
    return _pause(fault.target, pause_seconds)


def _kill(name: str) -> str:
    stop_one(name)  # SIGKILL to its process group
    time.sleep(KILL_DOWN_SECONDS)
    took = restart(name)
    return f"killed, {KILL_DOWN_SECONDS:g}s down, restarted in {took:.1f}s"


def restart(name: str, attempts: int = 2) -> float:
    began = time.monotonic()
    for attempt in range(1, attempts + 1):
        try:
            start_one(name)
            return time.monotonic() - began
        except (StackError, RuntimeError) as err:
            if attempt == attempts:
                raise FaultError(f"{name} did not come back: {err}") from err
            stop_one(name)
    raise AssertionError("unreachable")


def _pid(name: str) -> int:
    return next(r["pid"] for r in records() if r["name"] == name)


def _pause(name: str, seconds: float) -> str:
    group = _pid(name)  # each process of the stack leads its own process group
    os.killpg(group, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(group, signal.SIGCONT)
    return f"SIGSTOP for {seconds:g}s"


def connections_to(port: int) -> int:
    """Established TCP connections to 127.0.0.1:port (IPv4), from /proc/net/tcp."""
    count = 0
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        remote, state = fields[2], fields[3]
        if state == "01" and remote == f"0100007F:{port:04X}":
            count += 1
    return count


def _network(toxiproxy: ToxiproxyClient, fault: Fault) -> tuple[str, bool]:
    """The fault, if traffic goes through the proxy at all (else it proves nothing)."""
    proxy = fault.target
    listen = int(toxiproxy.proxies()[proxy]["listen"].rsplit(":", 1)[1])
    through = connections_to(listen)
    if not through:
        return f"no connection goes through the {proxy} proxy (port {listen})", False
    return _toxic(toxiproxy, fault) + f" ({through} connections through it)", True


def _toxic(toxiproxy: ToxiproxyClient, fault: Fault) -> str:
    proxy = fault.target
    if fault.kind == "disabled":
        toxiproxy.disable(proxy)
        try:
            time.sleep(NETWORK_SECONDS)
        finally:
            toxiproxy.enable(proxy)
        return f"proxy {proxy} disabled for {NETWORK_SECONDS:g}s"
    kind, attributes = TOXICS[fault.kind]
    name = f"chaos-{fault.kind}"
    toxiproxy.add_toxic(proxy, name, kind, attributes)
    try:
        time.sleep(NETWORK_SECONDS)
    finally:
        toxiproxy.remove_toxic(proxy, name)
    return f"{kind} {attributes} on {proxy} for {NETWORK_SECONDS:g}s"


def breaker_openings() -> float:
    """order-service's count of calls its sidecar refused with the breaker to payment open."""
    text = httpx.get(ORDER_METRICS, timeout=5).text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("circuit_breaker_open_total{") and 'target="payment-service"' in line
    )


def _payment_outage(at_least: float) -> tuple[str, bool]:
    """payment-service down for `at_least` seconds (past the saga's payment deadline) and until
    order-service's sidecar opens its circuit breaker to it (components/common/resiliency.yaml),
    at most BREAKER_MAX_SECONDS."""
    try:
        before = breaker_openings()
    except (httpx.HTTPError, ValueError, IndexError) as err:
        raise FaultError(f"order-service metrics unreadable: {err!r}") from err
    stop_one("payment-service")
    began = time.monotonic()
    opened_after = None
    try:
        while time.monotonic() - began < BREAKER_MAX_SECONDS:
            if opened_after is None and _metric_or_zero() > before:
                opened_after = time.monotonic() - began
            if opened_after is not None and time.monotonic() - began >= at_least:
                break
            time.sleep(1.0)
        down = time.monotonic() - began
    finally:
        took = restart("payment-service")
    if opened_after is None:
        return f"payment-service down {down:.0f}s: breaker NEVER opened", False
    return (
        f"payment-service down {down:.0f}s, breaker open after {opened_after:.0f}s; "
        f"up in {took:.1f}s"
    ), True


def _metric_or_zero() -> float:
    try:
        return breaker_openings()
    except (httpx.HTTPError, ValueError, IndexError):
        return 0.0
