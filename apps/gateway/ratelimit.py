"""Per-client rate limits: one token bucket per client (a token's subject, or the address of an
anonymous caller). A bucket holds up to `burst` tokens and regains `per_second` of them each
second; a request takes one token, or is refused with how long until one is back.

In memory and per gateway process: N gateway replicas allow N times the rate. The clock is
injected (monotonic seconds) so tests need no sleeps.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]


@dataclass
class TokenBucket:
    per_second: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Takes a token: 0.0 if one was there, else the seconds until one will be."""
        elapsed = max(0.0, now - self.updated)  # a clock that steps back refills nothing
        self.tokens = min(float(self.burst), self.tokens + elapsed * self.per_second)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.per_second


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: float = 0.0  # seconds; only when refused


class RateLimiter:
    def __init__(
        self,
        per_second: float,
        burst: int,
        *,
        max_clients: int = 10_000,
        clock: Clock = time.monotonic,
    ) -> None:
        if not (per_second > 0 and burst >= 1 and max_clients >= 1):
            raise ValueError("per_second must be > 0, burst and max_clients >= 1")
        self.per_second, self.burst, self.max_clients = per_second, burst, max_clients
        self.clock = clock
        # Least recently used first: the bucket dropped beyond max_clients is the one that has
        # rested longest, so the most likely to be full (as a new one would be) anyway.
        self.buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, client: str) -> Decision:
        now = self.clock()
        bucket = self.buckets.get(client)
        if bucket is None:
            bucket = TokenBucket(self.per_second, self.burst, float(self.burst), now)
            self.buckets[client] = bucket
            if len(self.buckets) > self.max_clients:
                self.buckets.popitem(last=False)
        else:
            self.buckets.move_to_end(client)
        wait = bucket.take(now)
        return Decision(allowed=wait == 0.0, retry_after=wait)
