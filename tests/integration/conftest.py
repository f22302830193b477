"""Starts the real stack (Kafka, Zipkin, Dapr, the five apps; PostgreSQL with PROFILE=postgres)
once per test session, unless one is already running, and stops what it started."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator

import httpx
import pytest

from deploy.stack.paths import ROOT
from deploy.stack.runner import _alive, _records

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"


def _stack(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "deploy.stack", command], cwd=ROOT)
    if done.returncode != 0:  # the runner has printed the failing component and its log
        pytest.exit(f"`python -m deploy.stack {command}` failed", returncode=1)


@pytest.fixture(scope="session")
def stack() -> Iterator[None]:
    # Short deadlines so the timeout tests finish quickly (the defaults are 30s and 20s).
    os.environ.setdefault("STOCK_REPLY_TIMEOUT_SECONDS", "8")
    os.environ.setdefault("PAYMENT_DEADLINE_SECONDS", "6")
    already_running = any(_alive(r) for r in _records())
    if not already_running:
        _stack("up")
    yield
    if not already_running:
        _stack("down")


@pytest.fixture(scope="session")
def api(stack: None) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=GATEWAY, timeout=30) as client:
        yield client


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:12]
