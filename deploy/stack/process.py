"""What the stack runner needs to know about one process it starts, and the small tools every
service module uses: the one address the stack binds to, port and HTTP checks, running a tool."""

from __future__ import annotations

import os
import socket
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"  # everything of the stack binds here only


@dataclass
class Service:
    name: str  # shown in every message about it, e.g. "kafka", "order-service/daprd"
    argv: list[str]
    log: Path
    cwd: Path
    ready: Callable[[], bool]  # polled until it returns True
    env: dict[str, str] = field(default_factory=dict)
    ports: list[int] = field(default_factory=list)  # must be free before anything starts
    prepare: Callable[[], None] | None = None  # runs before the process starts
    after_ready: Callable[[], None] | None = None  # runs once it is ready
    # Environment known only once an earlier phase is up (daprd's trust anchors: Sentry's CA),
    # read right before each start.
    late_env: Callable[[], dict[str, str]] | None = None
    ready_timeout: float = 90.0
    user: str | None = None  # run as this user (PostgreSQL refuses to run as root)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    """True if a server could listen on the port now. Unlike port_open, this also sees a port
    held by a connection (e.g. as an outgoing connection's source port), not only a listener."""
    with socket.socket() as s:
        s.setsockopt(
            socket.SOL_SOCKET, socket.SO_REUSEADDR, 1
        )  # as servers do: TIME_WAIT is no obstacle
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return 200 <= resp.status < 300
    except OSError:
        return False


def run_tool(
    what: str, argv: list[str], env: dict[str, str] | None = None, stdin: str | None = None
) -> str:
    """Runs a tool to its end (RuntimeError with its output if it fails); a secret goes in
    `env` or `stdin`, never in `argv` (anyone may read argv)."""
    full_env = {**os.environ, **env} if env else None
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=full_env, input=stdin
    )
    if done.returncode != 0:
        out = (done.stdout + done.stderr).strip()[-2000:]
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n{out}")
    return done.stdout
