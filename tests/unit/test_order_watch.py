"""Waiting for an order to settle (apps/order_service/watch.py): woken by the saga's steps from
another thread, looking again on its own in case another instance settled it."""

from __future__ import annotations

import asyncio
import threading
import time

from apps.order_service.watch import OrderWatch


def statuses(*seen: str | None):
    """A status() that answers these in turn (the last one from then on), and its calls."""
    pending, calls = list(seen), []

    async def status() -> str | None:
        now = pending.pop(0) if len(pending) > 1 else pending[0]
        calls.append(now)
        return now

    return status, calls


def wait(watch: OrderWatch, seconds: float, status) -> float:
    started = time.monotonic()
    asyncio.run(watch.until_settled("o1", seconds, status))
    return time.monotonic() - started


def test_a_settled_order_ends_the_wait_at_once():
    status, calls = statuses("CONFIRMED")
    assert wait(OrderWatch(), 10, status) < 1 and calls == ["CONFIRMED"]


def test_a_missing_order_ends_the_wait_at_once():
    status, calls = statuses(None)
    assert wait(OrderWatch(), 10, status) < 1 and calls == [None]


def test_a_change_from_a_worker_thread_wakes_the_waiter_before_it_would_look_again():
    watch = OrderWatch(recheck_seconds=30)
    status, calls = statuses("PENDING", "CONFIRMED")

    async def wait_and_change() -> None:
        waiting = asyncio.create_task(watch.until_settled("o1", 20, status))
        while not calls:  # the first look has been made
            await asyncio.sleep(0)
        threading.Thread(target=watch.changed, args=("o1",)).start()
        await waiting

    started = time.monotonic()
    asyncio.run(wait_and_change())
    assert time.monotonic() - started < 5 and calls == ["PENDING", "CONFIRMED"]
    assert watch.waited_for() == []  # nobody left registered


def test_a_change_elsewhere_is_seen_by_looking_again():
    status, calls = statuses("PAID", "PAID", "CONFIRMED")
    assert wait(OrderWatch(recheck_seconds=0.01), 10, status) < 5
    assert calls == ["PAID", "PAID", "CONFIRMED"]


def test_an_open_order_ends_the_wait_when_the_time_is_up():
    status, calls = statuses("PAYMENT_PENDING")
    assert wait(OrderWatch(recheck_seconds=0.01), 0.2, status) >= 0.2
    assert set(calls) == {"PAYMENT_PENDING"} and len(calls) > 1


def test_the_wait_says_whether_the_order_settled_or_the_time_ran_out():
    settled, _ = statuses("PAID", "CONFIRMED")
    assert asyncio.run(OrderWatch(recheck_seconds=0.01).until_settled("o1", 5, settled)) is True
    unsettled, _ = statuses("PAID")
    assert (
        asyncio.run(OrderWatch(recheck_seconds=0.01).until_settled("o1", 0.1, unsettled)) is False
    )
