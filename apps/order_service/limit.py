"""An adaptive bound on sagas in flight, from Little's law: sagas in flight = throughput x the
time each takes. Over a sliding window, the mean time a saga takes is (mean in flight) / (sagas
ended per second). Above the target, the bound drops to what the measured throughput allows at
the target (throughput x target); below it, while the bound is what holds orders back, it grows
by one at each count, probing for more. It settles where the machine's throughput x the target
allows: at 10 sagas/s and a 0.7 s target, 7 in flight. Pure: the caller feeds it counts and
times.
"""

from __future__ import annotations

import math
from collections import deque


class AdaptiveLimit:
    def __init__(
        self, target_seconds: float, floor: int, ceiling: int, window_seconds: float = 3.0
    ) -> None:
        self.target, self.floor, self.ceiling = target_seconds, floor, max(floor, ceiling)
        self.window = window_seconds
        self.limit = self.floor  # probes upwards from here
        self._samples: deque[tuple[float, int, int]] = deque()  # (time, in flight, ended)

    def observe(self, now: float, in_flight: int, ended: int, held_back: bool) -> int:
        """One count of sagas in flight, how many ended since the last and whether the bound
        refused an order since; the bound now."""
        self._samples.append((now, in_flight, ended))
        while self._samples and self._samples[0][0] < now - self.window:
            self._samples.popleft()
        self.limit = self._adjusted(held_back)
        return self.limit

    def throughput(self) -> float:
        """Sagas ended per second over the window."""
        span = self._samples[-1][0] - self._samples[0][0]
        ended = sum(e for _t, _n, e in list(self._samples)[1:])
        return ended / span if span > 0 else 0.0

    def mean_seconds(self) -> float:
        """Mean time a saga takes over the window (inf if some wait and none ended)."""
        mean_in_flight = sum(n for _t, n, _e in self._samples) / len(self._samples)
        if mean_in_flight == 0:
            return 0.0
        rate = self.throughput()
        return mean_in_flight / rate if rate > 0 else math.inf

    def _adjusted(self, held_back: bool) -> int:
        if self._samples[-1][0] - self._samples[0][0] < self.window / 3:
            return self.limit  # too little seen yet to judge
        if self.mean_seconds() > self.target:
            allowed = round(self.throughput() * self.target)
            return max(self.floor, min(self.limit, allowed))
        if held_back:  # under the target, yet the bound refused orders: try one more
            return min(self.ceiling, self.limit + 1)
        return self.limit
