"""Waiting for an order to settle, for clients that ask to (GET /orders/{id}?waitSeconds=N).

A client that polls until its order is confirmed costs a round trip through the gateway, two
sidecars and this app each time; one that waits costs one. The saga's steps run in this
process's workflow worker threads and call `changed` once they settle an order, which wakes
its waiters at once. An order settled by another instance (replicas) wakes nobody here, so a
waiter also looks at the database again every `recheck_seconds`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

from workflows.statuses import ORDER_SETTLED


class OrderWatch:
    def __init__(self, recheck_seconds: float = 0.5) -> None:
        self.recheck_seconds = recheck_seconds
        self._waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self._lock = threading.Lock()  # `changed` is called from worker threads

    def waited_for(self) -> list[str]:
        """The orders a client waits for now."""
        with self._lock:
            return list(self._waiters)

    def changed(self, order_id: str) -> None:
        """The order's status changed (any thread): its waiters look again."""
        with self._lock:
            waiters = list(self._waiters.get(order_id, ()))
        for loop, event in waiters:
            loop.call_soon_threadsafe(event.set)

    async def until_settled(
        self, order_id: str, seconds: float, status: Callable[[], Awaitable[str | None]]
    ) -> bool:
        """Returns once `status()` (None: no such order) shows the order settled (True; also
        for no such order: nothing to wait for), or when `seconds` are up (False)."""
        deadline = time.monotonic() + seconds
        event = asyncio.Event()
        waiter = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.setdefault(order_id, set()).add(waiter)
        try:
            while True:
                event.clear()  # before looking: a change while we look is not missed
                now = await status()
                left = deadline - time.monotonic()
                if now is None or now in ORDER_SETTLED:
                    return True
                if left <= 0:
                    return False
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(left, self.recheck_seconds))
        finally:
            with self._lock:
                waiters = self._waiters.get(order_id)
                if waiters is not None:
                    waiters.discard(waiter)
                    if not waiters:
                        del self._waiters[order_id]
