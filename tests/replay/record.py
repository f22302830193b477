"""`make record-histories`: records a saga history for every path (tests/replay/scenarios.py)
from the real stack, tagged with the saga version of the code that runs (workflows/steps.py
SAGA_VERSION), into tests/replay/histories/<version>/ and its manifest. Starts the stack if
none is running (and stops it after), like the integration tests; PROFILE=postgres reads the
histories from PostgreSQL instead of SQLite.

    .venv/bin/python -m tests.replay.record [--paths confirmed,declined]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime

import httpx

from apps.gateway.tokens import Role
from deploy.stack.paths import ROOT, pinned_versions
from deploy.stack.records import alive, records
from tests.integration.helpers import client_for
from tests.replay.corpus import Recorded, patches_of, save, version_of, write_manifest
from tests.replay.scenarios import SCENARIOS
from tests.replay.shapes import Scenario, shape_problem, until
from tests.replay.store import HistoryNotFound, read_history
from workflows.steps import SAGA_VERSION, UNVERSIONED

GATEWAY = f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}/api/v1"
ATTEMPTS = 2  # a path that depends on timing (a cancel racing a charge) gets a second chance
STACK_ENV = {
    # A short stock timeout, as in the integration tests, so that path takes seconds; the
    # default payment deadline, longer than one charge against a paused payment-service (its
    # resiliency policy: 3 tries of 5 s), so an outage can end before it.
    "STOCK_REPLY_TIMEOUT_SECONDS": "8",
    "PAYMENT_DEADLINE_SECONDS": "20",
    "ORDER_DAILY_LIMIT": "1000.00",  # the over-limit path (scenarios.over_limit: 1,500.00)
}


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    profile = os.environ.get("PROFILE", "sqlite")
    version = int(SAGA_VERSION.removeprefix("v"))
    chosen = [s for s in SCENARIOS if s.since_version <= version]
    if args.paths:
        chosen = [s for s in chosen if s.path in args.paths.split(",")]
    started = time.monotonic()
    recorded, failed = _record_on_stack(chosen, profile)
    meta = {
        "dapr": pinned_versions()["DAPR_VERSION"],
        "profile": profile,
        "recordedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if recorded:
        write_manifest(SAGA_VERSION, recorded, meta, replace=not args.paths)
    took = time.monotonic() - started
    print(f"recorded {len(recorded)} histories of saga {SAGA_VERSION} in {took:.0f}s")
    for path, problem in failed:
        print(f"NOT RECORDED {path}: {problem}", file=sys.stderr)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.replay.record")
    parser.add_argument("--paths", help="comma-separated paths to record (default: all)")
    return parser


def _record_on_stack(chosen: list[Scenario], profile: str) -> tuple[list[Recorded], list]:
    for key, value in STACK_ENV.items():
        os.environ.setdefault(key, value)
    running = any(alive(r) for r in records())
    if running:
        print("using the running stack: it must run with", STACK_ENV)
    else:
        _stack("up")
    recorded, failed = [], []
    try:
        with client_for(GATEWAY, "replay-recorder", Role.ADMIN) as api:
            for scenario in chosen:
                try:
                    recorded.append(record_one(api, scenario, profile))
                except (AssertionError, TimeoutError, httpx.HTTPError) as exc:
                    failed.append((scenario.path, str(exc)))
    finally:
        if not running:
            _stack("down")
    return recorded, failed


def record_one(api: httpx.Client, scenario: Scenario, profile: str) -> Recorded:
    problem = "not run"
    for attempt in range(1, ATTEMPTS + 1):
        began = time.monotonic()
        order_id = scenario.provoke(api, uuid.uuid4().hex[:12], profile)
        events = finished_history(order_id, profile, scenario.resumed)
        problem = shape_problem(scenario, events) or _version_problem(events)
        took = time.monotonic() - began
        if problem is None:
            print(f"  {scenario.path}: {len(events)} events, {took:.1f}s")
            return save(SAGA_VERSION, scenario.path, order_id, events, {})
        print(f"  {scenario.path}, attempt {attempt}: went another way ({problem})")
    raise AssertionError(problem)


def finished_history(order_id: str, profile: str, resumed: bool) -> list:
    """The history once its run has ended (for a resumed path: the resumed run's)."""
    found: list = []

    def ended() -> bool:
        try:
            found[:] = read_history(order_id, profile)
        except HistoryNotFound:
            return False
        run_is_resumed = '"resume": true' in found[1].executionStarted.input.value
        return found[-1].HasField("executionCompleted") and run_is_resumed == resumed

    until(ended, f"the workflow of {order_id} to end")
    return found


def _version_problem(events: list) -> str | None:
    """A history of this version says so, and carries no patch."""
    recorded = version_of(events, UNVERSIONED)
    if recorded != SAGA_VERSION:
        return f"recorded as saga {recorded}, the code's is {SAGA_VERSION}"
    return f"patches {patches_of(events)}" if patches_of(events) else None


def _stack(command: str) -> None:
    done = subprocess.run([sys.executable, "-m", "deploy.stack", command], cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"`python -m deploy.stack {command}` failed")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
