"""The chaos suite's stack (one CHAOS=1 stack per session, started and stopped here unless one
is already running) and its results, saved after every fault and summed up at the end.

Size: CHAOS_SIZE=subset (default: every fault kind once, 20 orders each) or full (the whole
catalogue, 200 orders each). CHAOS_ORDERS overrides the count, CHAOS_FAULTS (comma-separated
names or kinds, e.g. `kill,pause:kafka`) picks faults."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import httpx
import pytest

from apps.gateway.tokens import Role
from deploy.stack.kafka import brokers_from_env
from deploy.stack.plan import profile_from_env
from deploy.stack.replicas import replicas_from_env
from tests.chaos import stack as chaos_stack_module
from tests.chaos.report import Session, table
from tests.chaos.stack import ChaosStack
from tests.integration.helpers import client_for

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"
SESSION_KEY = pytest.StashKey[Session]()


def chaos_size() -> str:
    size = os.environ.get("CHAOS_SIZE", "subset")
    if size not in ("subset", "full"):
        raise pytest.UsageError(f"CHAOS_SIZE={size!r}: use subset or full")
    return size


def orders_per_fault() -> int:
    return int(os.environ.get("CHAOS_ORDERS") or (200 if chaos_size() == "full" else 20))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: faults injected into the running stack")


def session_label() -> str:
    """The profile, and the brokers when there are several: `sqlite, 3 brokers`
    (tests/chaos/stack.py: ChaosStack.label)."""
    brokers = brokers_from_env()
    return profile_from_env() + (f", {brokers} brokers" if brokers > 1 else "")


@pytest.fixture(scope="session")
def chaos_session(pytestconfig: pytest.Config) -> Iterator[Session]:
    session = Session(
        profile=session_label(),
        replicas=replicas_from_env(profile_from_env()),
        size=chaos_size(),
        orders_per_fault=orders_per_fault(),
        chosen=os.environ.get("CHAOS_FAULTS", ""),
    )
    pytestconfig.stash[SESSION_KEY] = session
    yield session
    session.finished = time.time()
    session.save()


@pytest.fixture(scope="session")
def chaos_stack(chaos_session: Session) -> Iterator[ChaosStack]:
    try:
        stack = chaos_stack_module.start()
    except RuntimeError as err:
        pytest.exit(str(err), returncode=1)
    chaos_session.stack_note = (
        "stack started by the suite" if stack.started_here else "a running stack, reused"
    ) + f"; saga timeouts {stack.stock_timeout:g}s/{stack.payment_deadline:g}s"
    if stack.toxiproxy is None:
        chaos_session.stack_note += f"; no network faults: {stack.toxiproxy_missing}"
    yield stack
    chaos_stack_module.stop(stack)


@pytest.fixture(scope="session")
def api(chaos_stack: ChaosStack) -> Iterator[httpx.Client]:
    with client_for(GATEWAY, "chaos-admin", Role.ADMIN, timeout=15, connections=40) as client:
        yield client


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    session = config.stash.get(SESSION_KEY, None)
    if session is None or not session.results:
        return
    terminalreporter.section(f"chaos results ({session.label}, {session.size})")
    terminalreporter.write_line(table([session]))
    terminalreporter.write_line(f"saved in {session.path}")
