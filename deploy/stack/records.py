"""The stack's process records: one JSON file per process the runner started (its PID, the
program, its log, when it started) under .run/pids, and what the records say about the
processes now. Public: the runner, the tests and the bench read the running stack through it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from deploy.stack.paths import PID_DIR


def record_path(name: str) -> Path:
    return PID_DIR / f"{name.replace('/', '.')}.json"


def alive(record: dict[str, Any]) -> bool:
    try:
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return False
    return Path(cmdline).name == Path(record["argv0"]).name  # guards against PID reuse


def exiting(pid: int) -> bool:
    """True while a process is exiting: its memory is released (so `alive` no longer sees it) but
    its files, listening sockets included, may not be closed yet."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return not cmdline and state not in ("Z", "X")  # a zombie has closed its files


def records() -> list[dict[str, Any]]:
    if not PID_DIR.exists():
        return []
    recs = [json.loads(p.read_text()) for p in PID_DIR.glob("*.json")]
    return sorted(recs, key=lambda r: r["started"])


def rss_kb(pid: int) -> int:
    """RSS of a process group leader and all its descendants."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "-e"], capture_output=True, text=True)
    rows = [tuple(int(x) for x in line.split()) for line in out.stdout.splitlines()]
    children: dict[int, list[int]] = {}
    rss = {p: r for p, _pp, r in rows}
    for p, pp, _r in rows:
        children.setdefault(pp, []).append(p)
    todo, total = [pid], 0
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo += children.get(p, [])
    return total
