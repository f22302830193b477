"""Every second, the CPU time and RSS of every process of the stack (and of the baseline and the
load generator while they run), by name; plus explicit marks at scenario boundaries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from loadtests.bench.procfs import read_all, tree_usage

Targets = Callable[[], dict[str, int]]  # name -> root PID of the processes to watch now


@dataclass(frozen=True)
class Sample:
    time: float  # epoch seconds
    name: str
    cpu_seconds: float  # cumulative
    rss_bytes: int


class Sampler:
    def __init__(self, targets: Targets, interval: float = 1.0) -> None:
        self.targets, self.interval = targets, interval
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="bench-sampler", daemon=True)

    def sample_now(self) -> float:
        """Takes one sample of every target; returns its time."""
        stats, now = read_all(), time.time()
        taken = [
            Sample(now, name, u.cpu_seconds, u.rss_bytes)
            for name, pid in self.targets().items()
            if pid in stats
            for u in [tree_usage(stats, pid)]
        ]
        with self._lock:
            self.samples += taken
        return now

    def snapshot(self) -> list[Sample]:
        with self._lock:
            return list(self.samples)

    def _loop(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sample_now()
            next_at += self.interval
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample_now()
