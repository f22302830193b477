"""Starting the stack phase by phase (deploy/stack/plan.py plans them): the ports checked first,
the previous run's logs kept aside, each phase's processes started together and waited for; on a
failure whatever started is stopped again. And waiting for an app to say it is ready."""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from deploy.stack.control import stop_all
from deploy.stack.launch import StackError, report, say, start, start_until_ready
from deploy.stack.paths import LOG_DIR, RUN_DIR
from deploy.stack.plan import StackMode
from deploy.stack.process import Service, http_ok, port_open
from deploy.stack.runfile import AppSpec

APP_READY_SECONDS = 90.0


def start_phases(phases: list[list[Service]], mode: StackMode) -> bool:
    """Checks the ports, then starts the phases in order; on a failure reports it, stops what
    started and returns False."""
    ports = [port for phase in phases for svc in phase for port in svc.ports]
    if not ports_free(phases):
        return False
    warn_ephemeral_overlap(ports)
    fresh_logs()
    (RUN_DIR / "data").mkdir(parents=True, exist_ok=True)  # SQLite files of apps and sidecars
    mode.write()
    what = "the infrastructure" if mode.infra else "the stack"
    say(f"starting {what} (profile {mode.profile}){mode.describe()}; logs in {LOG_DIR}")
    try:
        for phase in phases:
            procs = [(svc, *start(svc)) for svc in phase]
            for svc, proc, log_offset in procs:
                start_until_ready(svc, proc, log_offset)
                say(f"{svc.name} ready")
    except StackError as err:
        report(err)
        stop_all(quiet=True)
        return False
    return True


def ports_free(phases: list[list[Service]]) -> bool:
    """False, each named, if a port of the plan has a listener already."""
    taken = [
        (port, svc.name)
        for phase in phases
        for svc in phase
        for port in svc.ports
        if port_open(port)
    ]
    for port, name in taken:
        print(f"ERROR [{name}]: port {port} on 127.0.0.1 is already in use", file=sys.stderr)
    return not taken


def warn_ephemeral_overlap(ports: list[int]) -> None:
    """Fixed ports inside the kernel's ephemeral range can be taken by any outgoing connection."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        return
    inside = sorted(p for p in set(ports) if low <= p <= high)
    if inside:
        print(
            f"WARNING: ports {inside} lie in the ephemeral port range {low}-{high} "
            "(net.ipv4.ip_local_port_range); an outgoing connection may take one",
            flush=True,
        )


def fresh_logs() -> None:
    """This run's logs in an empty LOG_DIR; the previous run's in RUN_DIR/logs.prev."""
    if LOG_DIR.exists():
        prev = RUN_DIR / "logs.prev"
        shutil.rmtree(prev, ignore_errors=True)
        LOG_DIR.rename(prev)
    LOG_DIR.mkdir(parents=True)


def wait_app_ready(app: AppSpec, timeout: float = APP_READY_SECONDS) -> None:
    """Until the app's /readyz answers (its database and sidecar answer it)."""
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{app.app_port}/readyz"
    while not http_ok(url):
        if time.monotonic() > deadline:
            raise StackError(
                app.name, f"{url} not ready after {timeout:.0f}s", LOG_DIR / f"{app.name}.log"
            )
        time.sleep(0.5)
    say(f"{app.name} ready (database and sidecar answer)")
