"""Acting on the running stack process by process, by the PIDs it recorded
(deploy/stack/records.py): which run, stopping one or all, starting one again as `up` planned it.
Public: the runner's commands, deploy/stack/restart.py and the fault tests use it."""

from __future__ import annotations

import contextlib
import os
import signal
import time

from deploy.stack.cli import CLI_ENV_FILE
from deploy.stack.identity import forget_identity_material
from deploy.stack.launch import say, start, start_until_ready
from deploy.stack.plan import MODE_FILE, planned_service
from deploy.stack.process import Service
from deploy.stack.records import alive, exiting, record_path, records
from deploy.stack.secrets import forget_tokens

GRACEFUL_STOP_SECONDS = 60.0
STOP_ALL_SECONDS = 20.0


def running_names() -> list[str]:
    """The names of the stack's processes that run now."""
    return [r["name"] for r in records() if alive(r)]


def running_pid(name: str) -> int | None:
    """The PID of the stack's process of that name while it runs, else None."""
    rec = next((r for r in records() if r["name"] == name), None)
    return rec["pid"] if rec is not None and alive(rec) else None


def running_group(name: str) -> int:
    """The PID (and process group) of one process of the running stack; KeyError if none."""
    pid = running_pid(name)
    if pid is None:
        raise KeyError(f"{name} is not running")
    return pid


def stop_all(quiet: bool = False) -> int:
    """Stops every recorded process (apps first, infrastructure last: SIGTERM, SIGKILL after
    STOP_ALL_SECONDS) and forgets the run's mode, tokens and identities."""
    recs = list(reversed(records()))
    for rec in recs:
        if alive(rec):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(rec["pid"], signal.SIGTERM)
    deadline = time.monotonic() + STOP_ALL_SECONDS
    for rec in recs:
        while (alive(rec) or exiting(rec["pid"])) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(rec):
            os.killpg(rec["pid"], signal.SIGKILL)
        record_path(rec["name"]).unlink(missing_ok=True)
    MODE_FILE.unlink(missing_ok=True)
    CLI_ENV_FILE.unlink(missing_ok=True)
    forget_tokens()
    forget_identity_material()
    if not quiet:
        say(f"stopped {len(recs)} processes" if recs else "nothing was running")
    return 0


def stop_one(name: str, graceful: bool = False) -> None:
    """Stops one process of the running stack (for chaos tests), keeping its record: SIGKILL,
    or with graceful SIGTERM and up to GRACEFUL_STOP_SECONDS to exit (a Kafka broker's
    controlled shutdown hands its partitions' leadership over first), then SIGKILL."""
    rec = next(r for r in records() if r["name"] == name)
    if not alive(rec):
        return
    os.killpg(rec["pid"], signal.SIGTERM if graceful else signal.SIGKILL)
    deadline = time.monotonic() + (GRACEFUL_STOP_SECONDS if graceful else 10)
    while (alive(rec) or exiting(rec["pid"])) and time.monotonic() < deadline:
        time.sleep(0.1)
    if graceful and alive(rec):
        os.killpg(rec["pid"], signal.SIGKILL)
        stop_one(name)


def start_services(services: list[Service]) -> list[int]:
    """Starts planned services together (deploy/stack/restart.py may adapt them first), each
    recorded by PID in place of any earlier process of the same name, then waits until each is
    ready, as `up` starts a phase; their PIDs."""
    started = [(svc, *start(svc)) for svc in services]
    return [start_until_ready(svc, proc, offset).pid for svc, proc, offset in started]


def start_one(name: str) -> None:
    """Starts one process of the stack again, as `up` would, and waits until it is ready."""
    start_services([planned_service(name)])
