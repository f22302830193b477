"""Admission control: at most MAX_SAGAS_IN_FLIGHT sagas in flight at once.

Without a bound, an overloaded system accepts orders faster than sagas finish: the backlog, and
every order's latency, grow without limit. Over the bound a new order is refused with 503 and
`Retry-After` (apps/order_service/routes.py), so the orders that are accepted keep their latency
and the client knows when to try again.

The count is the order database's (sagas STARTED or COMPENSATING), so it holds however many
order-service instances share the database. It is read at most every `refresh_seconds`; orders
admitted since the last read count too, so a burst cannot overshoot the bound by much (only by
what other instances admit in that time).

A fixed bound is right for one machine and one load only: the same 18 sagas in flight take
1.8 s each at 10 sagas/s. With SAGA_LATENCY_TARGET_SECONDS set, the bound adapts (limit.py):
it follows throughput x target, so the sagas admitted take about the target on average,
whatever the machine manages; MAX_SAGAS_IN_FLIGHT stays the ceiling.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from starlette.concurrency import run_in_threadpool

from apps.order_service.limit import AdaptiveLimit

SHED = Counter("order_admission_shed_total", "New orders refused: too many sagas in flight")
IN_FLIGHT = Gauge("order_sagas_in_flight", "Sagas in flight at the last count (database)")
LIMIT = Gauge("order_admission_limit", "Sagas admitted in flight at most, now")


@dataclass(frozen=True)
class AdmissionSettings:
    # The first three come from OrderServiceSettings, where their defaults are.
    max_in_flight: int
    retry_after_seconds: int
    latency_target_seconds: float | None  # adaptive if set
    refresh_seconds: float = 0.2
    min_in_flight: int = 4  # the adaptive bound never goes below this


class SagaAdmission:
    def __init__(
        self,
        count_in_flight: Callable[[], int],
        settings: AdmissionSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count_in_flight, self.settings, self.clock = count_in_flight, settings, clock
        self._counted, self._admitted_since, self._counted_at = 0, 0, float("-inf")
        self._refused_since = 0
        self._lock = asyncio.Lock()
        target = settings.latency_target_seconds
        self.adaptive = (
            None
            if target is None
            else AdaptiveLimit(target, settings.min_in_flight, settings.max_in_flight)
        )
        LIMIT.set(settings.max_in_flight)

    @property
    def limit(self) -> int:
        return self.settings.max_in_flight if self.adaptive is None else self.adaptive.limit

    async def admits(self) -> bool:
        """True if one more saga may start now (and counts it); False if it must wait."""
        async with self._lock:
            now = self.clock()
            if now - self._counted_at >= self.settings.refresh_seconds:
                counted = await run_in_threadpool(self.count_in_flight)
                if self.adaptive is not None:
                    # Sagas that ended since the last count: those counted then, plus those
                    # admitted here since, minus those still in flight.
                    ended = max(0, self._counted + self._admitted_since - counted)
                    LIMIT.set(self.adaptive.observe(now, counted, ended, self._refused_since > 0))
                self._counted, self._admitted_since, self._counted_at = counted, 0, now
                self._refused_since = 0
                IN_FLIGHT.set(counted)
            if self._counted + self._admitted_since >= self.limit:
                SHED.inc()
                self._refused_since += 1
                return False
            self._admitted_since += 1
            return True
