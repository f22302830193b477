"""Bounded load test: N orders from C concurrent clients against a running stack (loopback only).

    python -m loadtests.order_burst --orders 200 --concurrency 20 --max-seconds 180

Prints POST throughput and latency, end-to-end saga throughput (accepted -> CONFIRMED) and
latency, and the stack's memory. Stops by itself after --max-seconds whatever happens.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx

from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role
from deploy.stack.records import alive, records, rss_kb


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8080/api/v1")
    parser.add_argument("--orders", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--max-seconds", type=float, default=180)
    args = parser.parse_args()
    if urlparse(args.base_url).hostname not in ("127.0.0.1", "localhost"):
        sys.exit("load tests target loopback only")
    if not 1 <= args.orders <= 2000 or not 1 <= args.concurrency <= 100:
        sys.exit("--orders must be 1..2000 and --concurrency 1..100")

    run = uuid.uuid4().hex[:8]
    product = f"load-{run}"
    # At most 100 orders per customer, so one page per customer shows all of them.
    customers = [f"load-{run}-{i}" for i in range(max(args.concurrency, -(-args.orders // 100)))]
    stop_at = time.monotonic() + args.max_seconds
    api = httpx.Client(
        base_url=args.base_url,
        timeout=30,
        limits=httpx.Limits(max_connections=args.concurrency + 5),
        headers={"Authorization": f"Bearer {issue(f'load-{run}', Role.ADMIN)}"},
    )
    api.put(f"/inventory/{product}", json={"available": args.orders}).raise_for_status()
    for c in customers:
        api.put(f"/accounts/{c}", json={"balance": "100000.00"}).raise_for_status()

    post_latency: list[float] = []
    accepted: dict[str, float] = {}
    lock = threading.Lock()

    def place(i: int) -> None:
        if time.monotonic() > stop_at:
            return
        body = {
            "customerId": customers[i % len(customers)],
            "items": [{"productId": product, "quantity": 1, "unitPrice": "9.99"}],
        }
        start = time.monotonic()
        resp = api.post("/orders", json=body)
        with lock:
            post_latency.append(time.monotonic() - start)
            if resp.status_code == 202:
                accepted[resp.json()["orderId"]] = start

    began = time.monotonic()
    with ThreadPoolExecutor(args.concurrency) as pool:
        list(pool.map(place, range(args.orders)))
    post_elapsed = time.monotonic() - began

    # Poll one page per customer (not one GET per order) so the poller does not become
    # the load; completion times are therefore accurate to about one polling round.
    done: dict[str, tuple[str, float]] = {}
    while len(done) < len(accepted) and time.monotonic() < stop_at:
        for c in customers:
            page = api.get("/orders", params={"customerId": c, "limit": 100}).json()["items"]
            for order in page:
                if order["status"] in ("CONFIRMED", "CANCELLED") and order["orderId"] not in done:
                    done[order["orderId"]] = (order["status"], time.monotonic())
        time.sleep(0.5)
    total_elapsed = time.monotonic() - began

    confirmed = [t - accepted[o] for o, (s, t) in done.items() if s == "CONFIRMED"]
    print(
        f"orders sent      {len(post_latency)} ({len(accepted)} accepted) "
        f"with {args.concurrency} clients"
    )
    print(
        f"POST throughput  {len(post_latency) / post_elapsed:.1f} orders/s; latency "
        f"p50 {percentile(post_latency, 50) * 1000:.0f} ms, "
        f"p95 {percentile(post_latency, 95) * 1000:.0f} ms"
    )
    print(
        f"sagas finished   {len(done)}/{len(accepted)} ({len(confirmed)} confirmed) in "
        f"{total_elapsed:.1f}s: {len(done) / total_elapsed:.1f} orders/s end to end"
    )
    if confirmed:
        print(
            f"order->CONFIRMED p50 {percentile(confirmed, 50):.2f}s, "
            f"p95 {percentile(confirmed, 95):.2f}s"
        )
    level = api.get(f"/inventory/{product}").json()
    consistent = level["reserved"] == 0 and level["available"] == args.orders - len(confirmed)
    print(
        f"stock check      available {level['available']}, reserved {level['reserved']}: "
        f"{'consistent' if consistent else 'INCONSISTENT'} with {len(confirmed)} sold"
    )
    rss = sum(rss_kb(r["pid"]) for r in records() if alive(r))
    if rss:
        print(f"stack memory     {rss / 1024:.0f} MiB RSS")
    return 0 if consistent and len(done) == len(accepted) == args.orders else 1


if __name__ == "__main__":
    sys.exit(main())
