"""`python -m deploy.cluster usage [SECONDS]`: the memory (RSS) and CPU the cluster takes,
summed over every process of it: the node's programs, containerd's shims and the containers
(teardown.our_processes finds them all)."""

from __future__ import annotations

import os
import time
from collections import defaultdict
from pathlib import Path

from deploy.cluster import procs, teardown

TICKS = os.sysconf("SC_CLK_TCK")


def _group(pid: int, cmdline: str) -> str:
    names = {pid: name for name, (pid, _prog) in procs.recorded().items()}
    if pid in names:
        return names[pid]
    if "containerd-shim" in cmdline:
        return "containerd-shims"
    return "pods (containers)"


def _sample() -> dict[int, tuple[str, int, int]]:
    """pid -> (group, cpu ticks, rss KiB)."""
    out = {}
    for pid, cmdline in teardown.our_processes():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        rss = [int(ln.split()[1]) for ln in status if ln.startswith("VmRSS:")]
        out[pid] = (_group(pid, cmdline), int(stat[11]) + int(stat[12]), rss[0] if rss else 0)
    return out


def report(seconds: float) -> str:
    first = _sample()
    time.sleep(seconds)  # the measuring window itself, not a wait for a condition
    last = _sample()
    rss: dict[str, int] = defaultdict(int)
    cpu: dict[str, int] = defaultdict(int)
    for pid, (group, ticks, kib) in last.items():
        rss[group] += kib
        cpu[group] += ticks - first.get(pid, (group, ticks, 0))[1]
    lines = [f"{'':26} {'RSS MiB':>9} {'CPU %':>7}   ({len(last)} processes, {seconds:.0f} s)"]
    for group in sorted(rss, key=rss.get, reverse=True):
        share = 100 * cpu[group] / TICKS / seconds
        lines.append(f"{group:26} {rss[group] / 1024:9.1f} {share:7.1f}")
    total_cpu = 100 * sum(cpu.values()) / TICKS / seconds
    lines.append(f"{'total':26} {sum(rss.values()) / 1024:9.1f} {total_cpu:7.1f}")
    return "\n".join(lines)
