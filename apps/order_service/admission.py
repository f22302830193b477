"""Admission control: at most MAX_SAGAS_IN_FLIGHT sagas in flight at once.

Without a bound, an overloaded system accepts orders faster than sagas finish: the backlog, and
every order's latency, grow without limit. Over the bound a new order is refused with 503 and
`Retry-After` (apps/order_service/routes.py), so the orders that are accepted keep their latency
and the client knows when to try again.

The count is the order database's (sagas STARTED or COMPENSATING), so it holds however many
order-service instances share the database. It is read at most every `refresh_seconds`; orders
admitted since the last read count too, so a burst cannot overshoot the bound by much (only by
what other instances admit in that time).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from prometheus_client import Counter, Gauge
from starlette.concurrency import run_in_threadpool

SHED = Counter("order_admission_shed_total", "New orders refused: too many sagas in flight")
IN_FLIGHT = Gauge("order_sagas_in_flight", "Sagas in flight at the last count (database)")


@dataclass(frozen=True)
class AdmissionSettings:
    max_in_flight: int = 200  # MAX_SAGAS_IN_FLIGHT
    refresh_seconds: float = 0.2
    retry_after_seconds: int = 1  # ADMISSION_RETRY_AFTER_SECONDS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AdmissionSettings:
        settings = cls(
            max_in_flight=int(env.get("MAX_SAGAS_IN_FLIGHT") or cls.max_in_flight),
            retry_after_seconds=int(
                env.get("ADMISSION_RETRY_AFTER_SECONDS") or cls.retry_after_seconds
            ),
        )
        if settings.max_in_flight < 1 or settings.retry_after_seconds < 1:
            raise ValueError(f"admission settings out of range: {settings}")
        return settings


class SagaAdmission:
    def __init__(
        self,
        count_in_flight: Callable[[], int],
        settings: AdmissionSettings,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.count_in_flight, self.settings, self.clock = count_in_flight, settings, clock
        self._counted, self._admitted_since, self._counted_at = 0, 0, float("-inf")
        self._lock = asyncio.Lock()

    async def admits(self) -> bool:
        """True if one more saga may start now (and counts it); False if it must wait."""
        async with self._lock:
            now = self.clock()
            if now - self._counted_at >= self.settings.refresh_seconds:
                self._counted = await run_in_threadpool(self.count_in_flight)
                self._admitted_since, self._counted_at = 0, now
                IN_FLIGHT.set(self._counted)
            if self._counted + self._admitted_since >= self.settings.max_in_flight:
                SHED.inc()
                return False
            self._admitted_since += 1
            return True
