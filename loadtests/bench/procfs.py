"""CPU time and memory of process trees, read from /proc.

A process's CPU is utime + stime; its exited children's, once reaped, is in its cutime + cstime.
Summing utime + stime + cutime + cstime over every live process of a tree therefore counts all
CPU the tree ever used, including short-lived descendants (PostgreSQL backends), without a jump
when a child exits: its time moves from its own counters to its parent's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class ProcStat:
    pid: int
    ppid: int
    cpu_ticks: int  # utime + stime + cutime + cstime
    rss_pages: int


def parse_stat(text: str) -> ProcStat:
    """One /proc/<pid>/stat line. The command name (field 2) may hold spaces and parentheses,
    so fields are counted from its last ')'."""
    pid = int(text.split(" ", 1)[0])
    rest = text.rsplit(")", 1)[1].split()
    # rest[0] is field 3 (state): field n is rest[n - 3].
    utime, stime, cutime, cstime = (int(rest[i]) for i in (11, 12, 13, 14))
    return ProcStat(pid, int(rest[1]), utime + stime + cutime + cstime, int(rest[21]))


def read_all(proc: Path = Path("/proc")) -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stats[int(entry.name)] = parse_stat((entry / "stat").read_text())
        except (OSError, IndexError, ValueError):
            continue  # exited while we looked
    return stats


def tree(stats: dict[int, ProcStat], root: int) -> list[ProcStat]:
    children: dict[int, list[int]] = {}
    for st in stats.values():
        children.setdefault(st.ppid, []).append(st.pid)
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in stats:
            found.append(stats[pid])
            todo += children.get(pid, [])
    return found


@dataclass(frozen=True)
class Usage:
    cpu_seconds: float  # cumulative, since the tree's root started
    rss_bytes: int  # summed over the tree (shared pages counted in each process)


def tree_usage(stats: dict[int, ProcStat], root: int) -> Usage:
    members = tree(stats, root)
    ticks = sum(st.cpu_ticks for st in members)
    pages = sum(st.rss_pages for st in members)
    return Usage(ticks / CLOCK_TICKS, pages * PAGE_BYTES)
