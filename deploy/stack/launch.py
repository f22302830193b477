"""Launching one process of the stack: waiting for its ports to be free, starting it in its own
process group with its output appended to its log, recording it (deploy/stack/records.py), and
waiting until it is ready, starting it again if it lost a race for one of its ports. Public: the
runner starts every process with it, and so do tests that restart one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from deploy.stack.paths import PID_DIR
from deploy.stack.process import Service, port_bindable, port_open
from deploy.stack.records import record_path

# A process that loses a race for one of its ports (another process bound it, or an outgoing
# connection holds it as its source port) exits at start; it is started again this many times.
START_ATTEMPTS = 3
# How long a start waits for one of its ports: a connection holding it (not a listener) lets go
# at the latest when it leaves TIME_WAIT (60 s on Linux); a listener may be a process of the stack
# still exiting, else it is someone else's server.
PORT_WAIT_SECONDS = 65.0
LISTENER_WAIT_SECONDS = 5.0


class StackError(Exception):
    def __init__(self, component: str, message: str, log: Path | None = None) -> None:
        super().__init__(message)
        self.component, self.log = component, log


def say(msg: str) -> None:
    print(f"==> {msg}", flush=True)


def report(err: StackError) -> None:
    """The error on stderr, with the last lines of the log of the process it names."""
    print(f"ERROR [{err.component}]: {err}", file=sys.stderr)
    if err.log and err.log.exists():
        print(f"--- last lines of {err.log} ---", file=sys.stderr)
        print("\n".join(err.log.read_text(errors="replace").splitlines()[-25:]), file=sys.stderr)


def start(svc: Service) -> tuple[subprocess.Popen, int]:
    """Starts the process; returns it and where its output begins in the log."""
    _wait_ports_bindable(svc)
    if svc.prepare:
        try:
            svc.prepare()
        except (RuntimeError, OSError) as err:
            raise StackError(svc.name, f"preparing it failed: {err}", svc.log) from err
    try:
        late_env = svc.late_env() if svc.late_env else {}
    except (RuntimeError, OSError) as err:
        raise StackError(svc.name, f"its environment is not ready: {err}", svc.log) from err
    argv = svc.argv
    if svc.user and os.geteuid() == 0:
        # setpriv execs the program itself (runuser would stay as a parent that SIGKILLs it
        # 2 s after SIGTERM), so the recorded PID is the server's own.
        argv = ["setpriv", f"--reuid={svc.user}", f"--regid={svc.user}", "--init-groups", *argv]
    svc.log.parent.mkdir(parents=True, exist_ok=True)
    with open(svc.log, "ab") as log:
        log_offset = log.tell()
        proc = subprocess.Popen(
            argv,
            cwd=svc.cwd,
            env={**os.environ, **svc.env, **late_env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )  # own process group: stopped as one
    PID_DIR.mkdir(parents=True, exist_ok=True)
    record_path(svc.name).write_text(
        json.dumps(
            {
                "name": svc.name,
                "pid": proc.pid,
                "argv0": svc.argv[0],
                "log": str(svc.log),
                "started": time.time(),
            }
        )
    )
    return proc, log_offset


def _wait_ports_bindable(svc: Service) -> None:
    """Waits until every port of the service is free (see PORT_WAIT_SECONDS)."""
    start = time.monotonic()
    told = False
    while held := [port for port in svc.ports if not port_bindable(port)]:
        listening = [port for port in held if port_open(port)]
        ports = ", ".join(str(p) for p in listening or held)
        waited = time.monotonic() - start
        if waited > (LISTENER_WAIT_SECONDS if listening else PORT_WAIT_SECONDS):
            why = "another process listens on it" if listening else "held by a connection"
            raise StackError(svc.name, f"port {ports} on 127.0.0.1 is not free ({why})")
        if not told:
            holder = "a listener" if listening else "a connection"
            print(f"WARNING [{svc.name}]: port {ports} held by {holder}; waiting", flush=True)
            told = True
        time.sleep(0.2)


def _log_says_port_taken(log: Path, offset: int) -> bool:
    """True if the process's own output (from offset on) reports a port already in use."""
    with open(log, "rb") as f:
        f.seek(offset)
        return b"address already in use" in f.read().lower()


def start_until_ready(svc: Service, proc: subprocess.Popen, log_offset: int) -> subprocess.Popen:
    """Waits for a started service; one that exits having lost a race for one of its ports is
    started again, up to START_ATTEMPTS times in all. Returns the process that is ready."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            _wait_ready(svc, proc)
            return proc
        except StackError as err:
            lost_race = proc.poll() is not None and _log_says_port_taken(svc.log, log_offset)
            if not lost_race:
                raise
            if attempt == START_ATTEMPTS:
                raise StackError(
                    svc.name,
                    f"{err}: address already in use, on each of {START_ATTEMPTS} attempts",
                    svc.log,
                ) from err
            print(
                f"WARNING [{svc.name}]: {err}: lost a race for one of its ports "
                f"(address already in use); starting it again ({attempt + 1}/{START_ATTEMPTS})",
                flush=True,
            )
            proc, log_offset = start(svc)
    raise AssertionError("unreachable")


def _wait_ready(svc: Service, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + svc.ready_timeout
    while not svc.ready():
        if proc.poll() is not None:
            raise StackError(svc.name, f"exited with code {proc.returncode}", svc.log)
        if time.monotonic() > deadline:
            raise StackError(svc.name, f"not ready after {svc.ready_timeout:.0f}s", svc.log)
        time.sleep(0.3)
    if svc.after_ready:
        try:
            svc.after_ready()
        except (RuntimeError, OSError) as err:
            raise StackError(svc.name, f"set-up after start failed: {err}", svc.log) from err
