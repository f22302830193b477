"""Runs one k6 scenario (loadtests/k6/orders.js) and reads what it recorded per order."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from deploy.stack.paths import CACHE_DIR, ROOT, pinned_versions

SCRIPT = ROOT / "loadtests" / "k6" / "orders.js"
COUNTERS = (
    "orders_accepted",
    "orders_confirmed",
    "orders_other_end",
    "orders_shed",
    "orders_timed_out",
    "order_errors",
    "dropped_iterations",
)


def k6_binary() -> Path:
    return CACHE_DIR / f"k6-{pinned_versions()['K6_VERSION']}" / "k6"


@dataclass
class K6Result:
    scenario: str
    params: dict[str, str]
    started: float  # epoch seconds
    ended: float
    exit_code: int  # 0 all thresholds held, 99 one failed, 108 aborted (the ramp, saturated)
    counts: dict[str, int] = field(default_factory=dict)
    # (epoch seconds CONFIRMED was seen, ms since the POST, offered rate tag)
    confirmations: list[tuple[float, float, float]] = field(default_factory=list)
    accepted_by_rate: dict[float, int] = field(default_factory=dict)
    shed_by_rate: dict[float, int] = field(default_factory=dict)  # 429/503 answers
    post_ms: list[float] = field(default_factory=list)  # POST /orders response times
    retry_after_missing: int = 0
    error_reasons: dict[str, int] = field(default_factory=dict)  # e.g. {"GET 502": 8}

    @property
    def finished(self) -> int:
        return self.counts.get("orders_confirmed", 0) + self.counts.get("orders_other_end", 0)

    @property
    def unfinished(self) -> int:
        """Accepted orders with no end state seen (timed out, or cut off by the run's end)."""
        return self.counts.get("orders_accepted", 0) - self.finished


def parse_time(text: str) -> float:
    """k6's RFC 3339 timestamps carry nanoseconds; Python parses microseconds."""
    head, _, frac_zone = text.partition(".")
    if not frac_zone:
        return datetime.fromisoformat(text).timestamp()
    digits = "".join(c for c in frac_zone if c.isdigit())
    zone = frac_zone[len(digits) :]
    return datetime.fromisoformat(f"{head}.{digits[:6].ljust(6, '0')}{zone}").timestamp()


def read_points(lines: Iterable[str], result: K6Result) -> None:
    for line in lines:
        if '"Point"' not in line:
            continue
        point = json.loads(line)
        metric, data = point["metric"], point["data"]
        tags = data.get("tags") or {}
        if metric in COUNTERS:
            result.counts[metric] = result.counts.get(metric, 0) + int(data["value"])
            if metric == "order_errors":
                reason = tags.get("reason", "unknown")
                result.error_reasons[reason] = result.error_reasons.get(reason, 0) + 1
            if metric in ("orders_accepted", "orders_shed"):
                rate = float(tags.get("offered", 0))
                tally = (
                    result.accepted_by_rate if metric == "orders_accepted" else result.shed_by_rate
                )
                tally[rate] = tally.get(rate, 0) + 1
        elif metric == "order_confirm_ms":
            rate = float(tags.get("offered", 0))
            result.confirmations.append((parse_time(data["time"]), data["value"], rate))
        elif metric == "http_req_duration" and tags.get("name") == "POST /orders":
            result.post_ms.append(data["value"])
        elif metric == "checks" and tags.get("check") == "shed with Retry-After":
            result.retry_after_missing += int(data["value"] == 0)


def run_k6(
    scenario: str,
    params: dict[str, str],
    config: Path,
    out_dir: Path,
    watch: dict[str, int] | None = None,
    title: str = "",
) -> K6Result:
    """Runs k6 in the foreground (its progress on screen); while it runs its PID is in
    `watch` under "k6", so the sampler records the load generator too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    points = out_dir / f"{title or scenario}.k6.json.gz"  # k6 gzips a .gz output
    env = {
        **os.environ,
        "SCENARIO": scenario,
        "BENCH_CONFIG": str(config),
        "K6_NO_USAGE_REPORT": "true",  # loopback only: no call home
        **params,
    }
    argv = [str(k6_binary()), "run", "--no-color", "--out", f"json={points}", str(SCRIPT)]
    watch = {} if watch is None else watch
    started = time.time()
    proc = subprocess.Popen(argv, env=env, cwd=ROOT)
    watch["k6"] = proc.pid
    try:
        code = proc.wait()
    finally:
        watch.pop("k6", None)
    result = K6Result(scenario, params, started, time.time(), code)
    with gzip.open(points, "rt") as f:  # streamed: a soak writes millions of points
        read_points(f, result)
    return result
