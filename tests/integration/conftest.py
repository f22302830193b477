"""Starts the real stack (Kafka, Zipkin, Dapr, the five apps; PostgreSQL with PROFILE=postgres)
once per test session, unless one is already running, and stops what it started.

Clients carry bearer tokens signed with the development key `make setup` created (the code
`make token` uses): `api` is an admin, `as_customer(id)` opens a client for one customer,
`anonymous` sends no token."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from apps.gateway.settings import TokenSettings
from apps.gateway.tokens import Role
from deploy.stack.paths import ROOT
from deploy.stack.records import alive, records
from tests.integration.helpers import client_for

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"
ADMIN = "integration-admin"


def _stack(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "deploy.stack", command], cwd=ROOT)
    if done.returncode != 0:  # the runner has printed the failing component and its log
        pytest.exit(f"`python -m deploy.stack {command}` failed", returncode=1)


@pytest.fixture(scope="session")
def stack() -> Iterator[None]:
    # Short deadlines so the timeout tests finish quickly (the defaults are 30s and 20s).
    os.environ.setdefault("STOCK_REPLY_TIMEOUT_SECONDS", "8")
    os.environ.setdefault("PAYMENT_DEADLINE_SECONDS", "6")
    # A low bound on sagas in flight, which test_backpressure.py reaches (the default is 200),
    # and finished workflows purged soon after they end (1h by default), so that every test
    # runs beside the purge and test_backpressure.py can watch one happen.
    os.environ.setdefault("MAX_SAGAS_IN_FLIGHT", "30")
    os.environ.setdefault("WORKFLOW_RETENTION", "5s")
    # Saga v2's daily limit per customer, above test_large_amounts.py's 30 million, so every
    # saga here runs its check and test_daily_limit.py can pass it.
    os.environ.setdefault("ORDER_DAILY_LIMIT", "50000000.00")
    signing_key = TokenSettings.from_env().private_key_file
    if not signing_key.is_file():
        pytest.exit(f"no development signing key at {signing_key}: run `make setup`", returncode=1)
    already_running = any(alive(r) for r in records())
    if not already_running:
        _stack("up")
    yield
    if not already_running:
        _stack("down")


@pytest.fixture(scope="session")
def api(stack: None) -> Iterator[httpx.Client]:
    """The gateway as an admin: may do everything, for any customer."""
    with client_for(GATEWAY, ADMIN, Role.ADMIN) as client:
        yield client


@pytest.fixture
def as_customer(stack: None) -> Iterator[Callable[[str], httpx.Client]]:
    """`as_customer(customer_id)`: the gateway as that customer (closed after the test)."""
    opened: list[httpx.Client] = []

    def open_client(customer_id: str) -> httpx.Client:
        opened.append(client_for(GATEWAY, customer_id, Role.CUSTOMER))
        return opened[-1]

    yield open_client
    for client in opened:
        client.close()


@pytest.fixture
def anonymous(stack: None) -> Iterator[httpx.Client]:
    """The gateway without a token."""
    with httpx.Client(base_url=GATEWAY, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
