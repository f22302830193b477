"""The cluster's processes: started with a log each and their PID recorded in the state
directory; stopped by that PID only, after checking it is still the same program."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from deploy.cluster import settings


class ClusterError(RuntimeError):
    """A component failed: the message names it and its log file."""


def log_path(name: str) -> Path:
    return settings.LOGS / f"{name}.log"


def tail(name: str, lines: int = 25) -> str:
    path = log_path(name)
    text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
    return f"--- last lines of {path} ---\n" + "\n".join(text)


def fail(name: str, message: str) -> ClusterError:
    return ClusterError(f"[{name}] {message}\n{tail(name)}\nlog file: {log_path(name)}")


def start(name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    settings.LOGS.mkdir(parents=True, exist_ok=True)
    settings.PIDS.mkdir(parents=True, exist_ok=True)
    with open(log_path(name), "ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=settings.STATE,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # its own process group: Ctrl-C of `make` does not reach it
        )
    (settings.PIDS / f"{name}.pid").write_text(f"{proc.pid} {argv[0]}\n")
    return proc.pid


def recorded() -> dict[str, tuple[int, str]]:
    """name -> (pid, program) of every process `start` recorded."""
    if not settings.PIDS.is_dir():
        return {}
    out = {}
    for path in settings.PIDS.glob("*.pid"):
        pid, program = path.read_text().split(maxsplit=1)
        out[path.stem] = (int(pid), program.strip())
    return out


def alive(pid: int, program: str) -> bool:
    """True while PID runs PROGRAM (a recycled PID running something else is not ours)."""
    try:
        exe = os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return False
    return exe.removesuffix(" (deleted)") == os.path.realpath(program)


def running(name: str) -> bool:
    entry = recorded().get(name)
    return entry is not None and alive(*entry)


def stop(name: str, timeout: float = 20) -> None:
    entry = recorded().get(name)
    if entry is None:
        return
    pid, program = entry
    if alive(pid, program):
        os.kill(pid, signal.SIGTERM)
        if not wait_for(lambda: not alive(pid, program), timeout):
            os.kill(pid, signal.SIGKILL)
            wait_for(lambda: not alive(pid, program), 10)
    (settings.PIDS / f"{name}.pid").unlink(missing_ok=True)


def wait_for(condition: Callable[[], bool], timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def wait_ready(name: str, condition: Callable[[], bool], timeout: float) -> None:
    """Waits for CONDITION while NAME runs; fails naming NAME and its log."""
    entry = recorded()[name]

    def done() -> bool:
        if not alive(*entry):
            raise fail(name, "exited before it was ready")
        return condition()

    if not wait_for(done, timeout):
        raise fail(name, f"not ready after {timeout:.0f}s")


def run(argv: list[str], check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, capture_output=True, text=True, check=check, **kwargs)
