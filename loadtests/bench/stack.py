"""The stack under test: started (and stopped) by the bench unless one is already running, the
processes to sample, and waiting for it to be idle between scenarios."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request

from deploy.stack.paths import ROOT
from deploy.stack.records import alive, records

ORDER_METRICS = "http://127.0.0.1:8001/metrics"
BASELINE_PREFIX = "bench-baseline"


def running() -> bool:
    return any(alive(r) for r in records())


def up(extra_env: dict[str, str] | None = None) -> None:
    # A Sentry identity for the baseline's daprd, which uses the stack's placement and scheduler.
    env = {**os.environ, "EXTRA_APP_IDENTITIES": BASELINE_PREFIX, **(extra_env or {})}
    if subprocess.run([sys.executable, "-m", "deploy.stack", "up"], cwd=ROOT, env=env).returncode:
        raise SystemExit("the stack did not start (see the error above)")


def down() -> None:
    subprocess.run([sys.executable, "-m", "deploy.stack", "down"], cwd=ROOT, check=False)


def stack_pids() -> dict[str, int]:
    """Every recorded process of the stack that is alive, by name (the baseline's left out)."""
    return {
        r["name"]: r["pid"]
        for r in records()
        if not r["name"].startswith(BASELINE_PREFIX) and alive(r)
    }


def sagas_in_flight() -> tuple[float, float] | None:
    """(sagas started, sagas started but not ended), from order-service's /metrics."""
    try:
        with urllib.request.urlopen(ORDER_METRICS, timeout=5) as resp:
            text = resp.read().decode()
    except OSError:
        return None

    def total(name: str) -> float:
        pattern = rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$"
        return sum(float(v) for v in re.findall(pattern, text, re.MULTILINE))

    started = total("order_saga_started_total") + total("order_saga_resumed_total")
    ended = sum(total(f"order_saga_{end}_total") for end in ("completed", "failed", "compensated"))
    return started, started - ended


def wait_idle(timeout: float = 180.0, quiet_polls: int = 5) -> bool:
    """Polls once a second until no saga is in flight, or none has started or ended for
    `quiet_polls` polls (a resumed saga that ends without an outcome of its own is never counted
    as ended); False on timeout."""
    deadline = time.monotonic() + timeout
    seen: list[tuple[float, float] | None] = []
    while time.monotonic() < deadline:
        now = sagas_in_flight()
        seen = [*seen[-(quiet_polls - 1) :], now]
        if now is not None and len(seen) >= 2 and now[1] <= 0 and seen[-2] == now:
            return True
        if len(seen) == quiet_polls and None not in seen and len(set(seen)) == 1:
            return True
        time.sleep(1.0)
    return False
