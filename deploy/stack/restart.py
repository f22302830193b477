"""Restarting one app of the running stack the way a deploy does, without failing a request.

`restart(name)` picks the way from the app's own settings:

- In place (every app but the gateway): the app drains first (POST /drain,
  apps/common/drain.py: readiness false, `Connection: close`, back once callers are quiet), then
  its sidecar stops (SIGTERM: callers now get "unreachable" and their sidecars retry,
  components/common/resiliency-gateway.yaml), then the app (SIGTERM: uvicorn finishes the
  requests in flight), then a new sidecar and app start and the app is ready (/readyz).
- Beside the old one (an app bound with SO_REUSEPORT, APP_REUSE_PORT=1: the gateway, the one
  process on the client-facing port): a new process starts and listens on the same port while
  the old one still serves; then the old one gets SIGTERM and closes its listener, and the
  kernel moves the connections queued on it to the new listener (net.ipv4.tcp_migrate_req=1)
  instead of resetting them. Its sidecar stays: the new process uses it.

`stop(name)` is the graceful stop alone (SIGTERM to the process group, SIGKILL after a grace
period). Each step waits for a condition, never for a fixed time. docs/upgrade.md measures it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from deploy.stack.control import running_pid, start_services
from deploy.stack.launch import StackError, say
from deploy.stack.plan import planned_service
from deploy.stack.process import Service, http_ok

MIGRATE_REQ = Path("/proc/sys/net/ipv4/tcp_migrate_req")
STOP_GRACE_SECONDS = 30.0  # SIGTERM, then SIGKILL: longer than uvicorn's and daprd's drains
READY_SECONDS = 90.0
DRAIN_CALL_SECONDS = 30.0  # longer than an app's longest drain (DRAIN_MOST_SECONDS, 15 s)


@dataclasses.dataclass(frozen=True)
class Restarted:
    name: str
    way: str  # "in place" or "beside the old one"
    drain_seconds: float  # what the app's drain took (0 beside: the kernel moves its clients)
    gap_seconds: float  # from the old app's stop to the new one's readiness (0 beside)
    seconds: float  # the whole restart
    stop_seconds: float = 0.0  # of the gap: the old sidecar and app stopping

    def line(self) -> str:
        return (
            f"{self.name} restarted {self.way} in {self.seconds:.1f}s "
            f"(drain {self.drain_seconds:.1f}s, no instance for {self.gap_seconds:.1f}s "
            f"of which {self.stop_seconds:.1f}s stopping)"
        )


def restart(
    name: str, env: Mapping[str, str] | None = None, stopped: Callable[[], None] = lambda: None
) -> Restarted:
    """Restarts app `name` (e.g. "order-service", "order-service-2", "gateway") with `env` over
    its planned environment (a new release's settings); StackError with the reason if a step
    fails. `stopped` is called once the old app and sidecar have exited (in place), before the
    new ones start: tests/upgrade resumes the participant it paused there, so that the sagas it
    parked are still in flight when the old instance is gone."""
    if name.endswith("/daprd"):
        raise ValueError(f"{name}: restart an app, its sidecar goes with it")
    app = planned_service(name)
    app = dataclasses.replace(app, env={**app.env, **(env or {})})
    if running_pid(name) is None:
        raise StackError(name, "not running: nothing to restart", app.log)
    if app.env.get("APP_REUSE_PORT") == "1":
        done = _beside(app)
    else:
        done = _in_place(app, planned_service(f"{name}/daprd"), stopped)
    say(done.line())
    return done


def app_port(app: Service) -> int:
    return int(app.env["APP_PORT"])


def drain(port: int) -> float:
    """POST /drain to the app on `port`; the seconds its drain took."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/drain", method="POST")
    with urllib.request.urlopen(request, timeout=DRAIN_CALL_SECONDS) as resp:
        return float(json.loads(resp.read())["seconds"])


def stop(name: str, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to the process group of the stack's process `name`, SIGKILL after `grace`; returns
    once it has exited (its ports closed)."""
    pid = running_pid(name)
    if pid is not None:
        _terminate(pid, name, grace)


def _in_place(app: Service, sidecar: Service, stopped_hook: Callable[[], None]) -> Restarted:
    began = time.monotonic()
    try:
        drained = drain(app_port(app))
    except OSError as exc:
        raise StackError(app.name, f"drain failed: {exc}", app.log) from exc
    stopped = time.monotonic()
    stop(sidecar.name)
    stop(app.name)
    stopping = time.monotonic() - stopped
    stopped_hook()
    try:
        start_services([sidecar, app])
    except KeyError as exc:
        raise StackError(app.name, str(exc), app.log) from exc
    _wait_ready(app)
    now = time.monotonic()
    return Restarted(app.name, "in place", drained, now - stopped, now - began, stopping)


def _beside(app: Service) -> Restarted:
    began = time.monotonic()
    port = app_port(app)
    require_listener_migration()
    old = running_pid(app.name)
    assert old is not None  # checked by restart()
    if old not in listening_pids(port):
        raise StackError(app.name, f"the running process does not listen on {port}", app.log)

    def new_one_listens() -> bool:
        pid = running_pid(app.name)
        return pid is not None and pid != old and pid in listening_pids(port)

    # Its port is the old process's too: no wait for it to be free, and ready once it listens.
    start_services([dataclasses.replace(app, ports=[], ready=new_one_listens)])
    _terminate(old, app.name, STOP_GRACE_SECONDS)
    _wait_ready(app)
    return Restarted(app.name, "beside the old one", 0.0, 0.0, time.monotonic() - began)


def require_listener_migration() -> None:
    """net.ipv4.tcp_migrate_req=1 (Linux >= 5.14, per network namespace): connections queued on
    a closing SO_REUSEPORT listener move to another listener of the port instead of being reset.
    Set to 1 when 0 (as root); StackError naming why if it cannot be."""
    if not MIGRATE_REQ.exists():
        raise StackError(
            "restart",
            f"{MIGRATE_REQ} does not exist (Linux < 5.14?): connections queued on the old "
            "listener would be reset during the restart",
        )
    if MIGRATE_REQ.read_text().strip() == "1":
        return
    try:
        MIGRATE_REQ.write_text("1\n")
    except OSError as exc:
        raise StackError(
            "restart",
            f"net.ipv4.tcp_migrate_req is 0 and cannot be set to 1 ({exc}): run "
            "`sysctl -w net.ipv4.tcp_migrate_req=1` as root",
        ) from exc
    say("set net.ipv4.tcp_migrate_req=1 (was 0): queued connections move to the new listener")


def listening_pids(port: int) -> set[int]:
    """PIDs of processes holding a TCP socket that listens on `port` (IPv4 or IPv6)."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    wanted = {f"socket:[{inode}]" for inode in inodes}
    pids = set()
    for fd_dir in Path("/proc").glob("[0-9]*/fd"):
        try:
            if any(os.readlink(fd) in wanted for fd in fd_dir.iterdir()):
                pids.add(int(fd_dir.parent.name))
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return pids


def _terminate(pid: int, name: str, grace: float) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while not _gone(pid):
        if time.monotonic() > deadline:
            print(
                f"WARNING [{name}]: still running {grace:.0f}s after SIGTERM: SIGKILL", flush=True
            )
            os.killpg(pid, signal.SIGKILL)
            deadline = time.monotonic() + grace
        time.sleep(0.05)


def _gone(pid: int) -> bool:
    """True once the process has exited and closed its files (a zombie, or no process)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def _wait_ready(app: Service) -> None:
    url = f"http://127.0.0.1:{app_port(app)}/readyz"
    deadline = time.monotonic() + READY_SECONDS
    while not http_ok(url):
        if time.monotonic() > deadline:
            raise StackError(
                app.name, f"{url} not ready {READY_SECONDS:.0f}s after restart", app.log
            )
        time.sleep(0.2)
