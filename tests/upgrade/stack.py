"""The stack a rolling upgrade starts from: the old release (new sagas start as v1, though the
code knows v2), started here and stopped at the end, never one that already runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from apps.gateway.tokens import Role
from deploy.stack.control import running_names
from deploy.stack.paths import ROOT
from tests.integration.helpers import client_for
from tests.upgrade.histories import OLD

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"
OLD_RELEASE = {
    "SAGA_LATEST_VERSION": OLD,
    # v2's limit check runs for every saga that reaches payment, and never refuses one: the path
    # tells the versions apart in the histories (tests/upgrade/histories.py).
    "ORDER_DAILY_LIMIT": "1000000.00",
    # Nothing on this stack routes by readiness, so under load an app is never quiet and its
    # drain lasts its most (15 s by default): 5 s is enough for the sidecar's keep-alive
    # connections to close after a response (`Connection: close`) before the stop.
    "DRAIN_MOST_SECONDS": "5",
    # The settle phase reads every order back as one admin client (as the chaos suite does).
    "RATE_LIMIT_PER_SECOND": "1000",
    "RATE_LIMIT_BURST": "2000",
}


class StackBusy(RuntimeError):
    pass


@contextmanager
def old_release(profile: str, replicas: int) -> Iterator[httpx.Client]:
    """The old release's stack (PROFILE, REPLICAS) and an admin client of its gateway."""
    if running_names():
        raise StackBusy("a stack is running: `make down` first (the upgrade starts its own)")
    saved = dict(os.environ)
    os.environ.update({**OLD_RELEASE, "PROFILE": profile, "REPLICAS": str(replicas)})
    try:
        done = subprocess.run([sys.executable, "-m", "deploy.stack", "up"], cwd=ROOT)
        if done.returncode != 0:
            raise RuntimeError("`python -m deploy.stack up` failed (its output says why)")
        with client_for(GATEWAY, "upgrade-admin", Role.ADMIN, timeout=15, connections=40) as api:
            yield api
    finally:
        subprocess.run([sys.executable, "-m", "deploy.stack", "down"], cwd=ROOT, check=False)
        os.environ.clear()
        os.environ.update(saved)
