"""The replicas suite's stack: PROFILE=postgres with REPLICAS=2 (REPLICAS=3 or 4 if asked), started
here and stopped at the end; a running stack is reused only if it runs replicas itself. Run it
under the stack lock: `flock /tmp/order-platform-stack.lock make replicas`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from apps.gateway.tokens import Role
from deploy.stack.paths import ROOT
from deploy.stack.plan import MODE_FILE
from deploy.stack.records import alive, records
from tests.chaos.stack import GATEWAY_RATE, SAGA_TIMEOUTS
from tests.integration.helpers import client_for

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"


def _running_replicas() -> int:
    try:
        mode = json.loads(MODE_FILE.read_text())
    except (OSError, ValueError):
        return 1
    return int(mode.get("replicas", 1)) if mode.get("profile") == "postgres" else 1


@pytest.fixture(scope="session")
def replicas() -> Iterator[int]:
    """How many instances of each replicated app run (at least 2)."""
    running = any(alive(r) for r in records())
    if running:
        count = _running_replicas()
        if count < 2:
            pytest.exit("a stack without REPLICAS>1 (postgres) is running: `make down` first", 1)
        yield count
        return
    os.environ["PROFILE"] = "postgres"
    os.environ["REPLICAS"] = os.environ.get("REPLICAS") or "2"
    if int(os.environ["REPLICAS"]) < 2:
        pytest.exit("the replicas suite needs REPLICAS>=2", returncode=2)
    for key, value in {**SAGA_TIMEOUTS, **GATEWAY_RATE}.items():
        os.environ.setdefault(key, value)
    done = subprocess.run([sys.executable, "-m", "deploy.stack", "up"], cwd=ROOT)
    if done.returncode != 0:
        pytest.exit("`python -m deploy.stack up` failed (its output says why)", returncode=1)
    try:
        yield int(os.environ["REPLICAS"])
    finally:
        subprocess.run([sys.executable, "-m", "deploy.stack", "down"], cwd=ROOT, check=False)


@pytest.fixture(scope="session")
def api(replicas: int) -> Iterator[httpx.Client]:
    with client_for(GATEWAY, "replicas-admin", Role.ADMIN, timeout=15, connections=40) as client:
        yield client


REPORT_KEY = pytest.StashKey[list[str]]()


@pytest.fixture(scope="session")
def report(pytestconfig: pytest.Config) -> list[str]:
    """Lines of figures the tests measured, printed at the end of the session."""
    return pytestconfig.stash.setdefault(REPORT_KEY, [])


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    lines = config.stash.get(REPORT_KEY, [])
    if lines:
        terminalreporter.section("replicas: per-instance figures")
        for line in lines:
            terminalreporter.write_line(line)
