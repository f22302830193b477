"""Live health for operators, from what the apps already export (no new metrics, no Prometheus
server needed): order-service's saga counters and duration histogram, sampled every few seconds
and kept for 16 minutes in the gateway's memory; each app's /readyz; the payment circuit
breaker's state from order-service's sidecar (`dapr_resiliency_cb_state`); Kafka consumer lag
from the lag exporter the stack runs (deploy/lag_exporter.py).

`SagaSampler.run_forever` is started by the gateway's lifespan; nothing here runs at import.
Several gateway replicas each keep their own samples of the same counters (they agree). A
restarted order-service restarts its counters: a counter that went down is counted from zero.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypedDict

import httpx
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

OUTCOMES = ("started", "completed", "compensated", "failed")
COUNTERS = {f"order_saga_{o}": o for o in OUTCOMES}  # family names (without _total)
DURATION = "order_saga_duration_seconds"
BREAKER = "dapr_resiliency_cb_state"
LAG_SUM = "kafka_consumergroup_lag_sum"
LAG_SCRAPE_OK = "kafka_lag_exporter_scrape_success"
WINDOW_MINUTES = 15
KEEP_SECONDS = (WINDOW_MINUTES + 1) * 60


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    counts: dict[str, float]  # per outcome, since order-service started
    buckets: dict[float, float] = field(default_factory=dict)  # le -> cumulative, all outcomes
    process_start: float | None = None  # order-service's process_start_time_seconds


def parse_saga_metrics(text: str, at: float) -> Sample:
    counts = dict.fromkeys(OUTCOMES, 0.0)
    buckets: dict[float, float] = {}
    process_start = None
    for family in text_string_to_metric_families(text):
        if family.name == "process_start_time_seconds" and family.samples:
            process_start = family.samples[0].value
        elif family.name in COUNTERS:
            counts[COUNTERS[family.name]] = sum(
                s.value for s in family.samples if s.name.endswith("_total")
            )
        elif family.name == DURATION:
            for s in family.samples:
                if s.name.endswith("_bucket"):
                    le = float(s.labels["le"])
                    buckets[le] = buckets.get(le, 0.0) + s.value
    return Sample(at, counts, buckets, process_start)


def breaker_state(text: str, target: str = "app_payment-service") -> str:
    """closed, half-open, open or unknown (no call through the breaker yet)."""
    for family in text_string_to_metric_families(text):
        if family.name == BREAKER:
            for s in family.samples:
                if s.labels.get("target") == target and s.value >= 1:
                    return s.labels.get("status", "unknown")
    return "unknown"


class ConsumerLag(TypedDict):
    """One consumer group's lag on one topic, as the health view shows it."""

    consumerGroup: str
    topic: str
    lag: int


def consumer_lag(text: str) -> tuple[bool, list[ConsumerLag]]:
    """Whether the lag exporter (deploy/lag_exporter.py) read Kafka, and the lag per consumer
    group and topic (kafka_consumergroup_lag_sum), largest first."""
    read, found = False, list[ConsumerLag]()
    for family in text_string_to_metric_families(text):
        if family.name == LAG_SCRAPE_OK:
            read = any(s.value == 1 for s in family.samples)
        elif family.name == LAG_SUM:
            found += [
                ConsumerLag(
                    consumerGroup=s.labels.get("consumergroup", ""),
                    topic=s.labels.get("topic", ""),
                    lag=int(s.value),
                )
                for s in family.samples
            ]
    found.sort(key=lambda row: (-row["lag"], row["consumerGroup"], row["topic"]))
    return read, found


def _delta(new: float, old: float) -> float:
    return new - old if new >= old else new  # a counter that went down was restarted


def quantile(q: float, buckets: Mapping[float, float]) -> float | None:
    """Prometheus' histogram_quantile over cumulative buckets (linear within a bucket)."""
    bounds = sorted(buckets)
    if not bounds or buckets[bounds[-1]] <= 0:
        return None
    rank = q * buckets[bounds[-1]]
    lower, below = 0.0, 0.0
    for le in bounds:
        count = buckets[le]
        if count >= rank:
            if math.isinf(le):
                return lower  # the highest finite bound, as Prometheus answers
            width = count - below
            return lower + (le - lower) * ((rank - below) / width if width else 1.0)
        lower, below = le, count
    return None


def per_minute(samples: list[Sample], now: float) -> list[dict[str, Any]]:
    """Sagas per outcome in each of the last WINDOW_MINUTES minutes (the current one last, so
    far): the increase between consecutive samples, counted in the minute of the later one."""
    this_minute = int(now // 60) * 60
    first = this_minute - (WINDOW_MINUTES - 1) * 60
    bins = {first + 60 * i: dict.fromkeys(OUTCOMES, 0.0) for i in range(WINDOW_MINUTES)}
    for older, newer in zip(samples, samples[1:], strict=False):
        minute = int(newer.at // 60) * 60
        if minute in bins:
            for outcome in OUTCOMES:
                bins[minute][outcome] += _delta(newer.counts[outcome], older.counts[outcome])
    return [
        {"minute": _iso(minute), **{k: int(v) for k, v in counts.items()}}
        for minute, counts in bins.items()
    ]


def p95_seconds(samples: list[Sample]) -> float | None:
    """The 95th percentile of the sagas that ended between the first and the last sample."""
    if len(samples) < 2:
        return None
    old, new = samples[0].buckets, samples[-1].buckets
    restarted = any(new.get(le, 0.0) < count for le, count in old.items())
    ended = new if restarted else {le: new[le] - old.get(le, 0.0) for le in new}
    value = quantile(0.95, ended)
    return None if value is None else round(value, 3)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class SagaSampler:
    """Samples order-service's saga metrics every `every_seconds`, keeping KEEP_SECONDS; with
    no `metrics_url` (no address for order-service) there is nothing to sample."""

    def __init__(
        self,
        metrics_url: str | None,
        every_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.metrics_url, self.every_seconds, self.clock = metrics_url, every_seconds, clock
        self.samples: deque[Sample] = deque()

    async def sample(self, client: httpx.AsyncClient) -> Sample | None:
        if self.metrics_url is None:
            return None
        try:
            resp = await client.get(self.metrics_url, timeout=3)
            resp.raise_for_status()
        except httpx.HTTPError as exc:
            log.debug("saga metrics not read: %s", exc)
            return None
        return parse_saga_metrics(resp.text, self.clock())

    def keep(self, sample: Sample) -> None:
        self.samples.append(sample)
        while self.samples and sample.at - self.samples[0].at > KEEP_SECONDS:
            self.samples.popleft()

    async def run_forever(self) -> None:
        async with httpx.AsyncClient() as client:
            while True:
                if sample := await self.sample(client):
                    self.keep(sample)
                await asyncio.sleep(self.every_seconds)

    def window(self, latest: Sample | None) -> list[Sample]:
        """The samples of the last WINDOW_MINUTES minutes, plus `latest` (read now). When the
        oldest is order-service's first since it started (within the window), a zero sample at
        its start comes first, so sagas that ended before the first sample count too."""
        kept = list(self.samples) + ([latest] if latest else [])
        if not kept:
            return []
        since = kept[-1].at - WINDOW_MINUTES * 60
        window = [s for s in kept if s.at >= since]
        first = window[0]
        started = first.process_start
        if started is not None and since <= started < first.at and first is kept[0]:
            zero = Sample(started, dict.fromkeys(OUTCOMES, 0.0), dict.fromkeys(first.buckets, 0.0))
            window.insert(0, zero)
        return window
