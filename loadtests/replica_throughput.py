"""Throughput at REPLICAS=1 and REPLICAS=2 (PROFILE=postgres), one after the other in one run:
for each, start the stack, warm it up, run `loadtests.order_burst` and read every process's CPU
from /proc over the burst, stop the stack. Prints a table per run and the ratio.

    flock /tmp/order-platform-stack.lock .venv/bin/python -m loadtests.replica_throughput

Needs the machine's stack to be down (it starts its own, on the fixed ports).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass

from deploy.stack.paths import ROOT
from deploy.stack.records import alive, records
from loadtests.bench.procfs import read_all, tree_usage

WARM_UP_ORDERS = 20
CPUS = os.cpu_count() or 1


def stack(command: str, env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "deploy.stack", command], cwd=ROOT, env=env)
    if done.returncode and command == "up":
        raise SystemExit("the stack did not start (see its error above)")


def cpu_by_process() -> dict[str, float]:
    stats = read_all()
    return {r["name"]: tree_usage(stats, r["pid"]).cpu_seconds for r in records() if alive(r)}


def group(name: str) -> str:
    """order-service-2/daprd -> order-service/daprd: instances of one app summed."""
    return re.sub(r"-\d+(?=/|$)", "", name)


def burst(orders: int, concurrency: int, env: dict[str, str]) -> tuple[str, float]:
    """Runs order_burst; returns its output and the CPU seconds the load generator used."""
    argv = [sys.executable, "-m", "loadtests.order_burst", "--orders", str(orders)]
    argv += ["--concurrency", str(concurrency), "--max-seconds", "300"]
    before = os.times()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    after = os.times()
    if done.returncode:
        print(done.stdout + done.stderr, file=sys.stderr)
        raise SystemExit(f"order_burst failed (exit {done.returncode})")
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    return done.stdout, cpu


@dataclass
class Run:
    replicas: int
    output: str
    elapsed: float  # seconds of the burst, POSTs to the last saga seen ended
    sagas_per_s: float
    posts_per_s: float
    cpu: dict[str, float]  # CPU seconds over the burst, by process (instances summed)

    @property
    def busy(self) -> float:
        return sum(self.cpu.values()) / (self.elapsed * CPUS)


def one_run(replicas: int, orders: int, concurrency: int) -> Run:
    env = {**os.environ, "PROFILE": "postgres", "REPLICAS": str(replicas)}
    stack("up", env)
    try:
        burst(WARM_UP_ORDERS, 5, env)
        cpu_before, began = cpu_by_process(), time.monotonic()
        output, load_cpu = burst(orders, concurrency, env)
        elapsed = time.monotonic() - began
        cpu_after = cpu_by_process()
    finally:
        stack("down", env)
    per_group: dict[str, float] = defaultdict(float)
    for name, seconds in cpu_after.items():
        per_group[group(name)] += seconds - cpu_before.get(name, seconds)
    per_group["load generator (order_burst)"] = load_cpu
    sagas = re.search(r"sagas finished +(\d+)/(\d+).*?([0-9.]+) orders/s end to end", output)
    posts = re.search(r"POST throughput +([0-9.]+) orders/s", output)
    return Run(
        replicas=replicas,
        output=output.strip(),
        elapsed=elapsed,
        sagas_per_s=float(sagas.group(3)) if sagas else 0.0,
        posts_per_s=float(posts.group(1)) if posts else 0.0,
        cpu=dict(per_group),
    )


def table(runs: list[Run]) -> str:
    names = sorted(
        {n for r in runs for n in r.cpu}, key=lambda n: -max(r.cpu.get(n, 0.0) for r in runs)
    )
    head = " | ".join(f"REPLICAS={r.replicas}" for r in runs)
    lines = [f"| CPU seconds over the burst | {head} |", "|---" * (len(runs) + 1) + "|"]
    lines += [
        f"| {n} | " + " | ".join(f"{r.cpu.get(n, 0.0):.1f}" for r in runs) + " |" for n in names
    ]
    total = " | ".join(
        f"{sum(r.cpu.values()):.0f} in {r.elapsed:.1f} s ({r.busy:.0%} of {CPUS} cores)"
        for r in runs
    )
    lines.append(f"| all | {total} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    args = parser.parse_args()
    if any(alive(r) for r in records()):
        raise SystemExit("a stack is running: `make down` first (this starts its own)")
    runs = [one_run(n, args.orders, args.concurrency) for n in (1, 2)]
    for r in runs:
        print(f"\n## REPLICAS={r.replicas}\n{r.output}")
    print("\n" + table(runs))
    one, two = runs
    if one.sagas_per_s:
        print(
            f"\nsagas end to end: {one.sagas_per_s} -> {two.sagas_per_s} orders/s "
            f"(ratio {two.sagas_per_s / one.sagas_per_s:.2f}); "
            f"POST: {one.posts_per_s} -> {two.posts_per_s} orders/s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
