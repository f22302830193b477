"""The stack (started with CHAOS=1 and short saga timeouts by tests/chaos/stack.py, or a running
one reused), an admin client of the public API, and a real Prometheus with the alert rules."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from apps.gateway.tokens import Role
from tests.chaos import stack as chaos_stack
from tests.chaos.conftest import GATEWAY
from tests.integration.helpers import client_for
from tests.lag.prometheus import Prometheus


@pytest.fixture(scope="session")
def stack() -> Iterator[chaos_stack.ChaosStack]:
    try:
        running = chaos_stack.start()
    except RuntimeError as err:
        pytest.exit(str(err), returncode=1)
    yield running
    chaos_stack.stop(running)


@pytest.fixture(scope="session")
def api(stack: chaos_stack.ChaosStack) -> Iterator[httpx.Client]:
    with client_for(GATEWAY, "lag-admin", Role.ADMIN, timeout=15, connections=40) as client:
        yield client


@pytest.fixture(scope="session")
def prometheus(stack: chaos_stack.ChaosStack) -> Iterator[Prometheus]:
    server = Prometheus()
    try:
        server.start()
    except RuntimeError as err:
        server.stop()
        pytest.fail(str(err))
    yield server
    server.stop()
