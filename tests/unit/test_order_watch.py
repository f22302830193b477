"""Waiting for an order to settle (apps/order_service/watch.py): woken by the saga's steps from
another thread, looking again on its own in case another instance settled it."""

from __future__ import annotations

import asyncio
import threading
import time

from apps.order_service.watch import OrderWatch


def looks(*statuses: str | None):
    seen = list(statuses)
    calls = []

    async def look() -> dict | None:
        status = seen.pop(0) if len(seen) > 1 else seen[0]
        calls.append(status)
        return None if status is None else {"status": status}

    return look, calls


def test_a_settled_order_is_answered_at_once():
    look, calls = looks("CONFIRMED")
    view = asyncio.run(OrderWatch().until_settled("o1", 10, look))
    assert view == {"status": "CONFIRMED"} and calls == ["CONFIRMED"]


def test_a_missing_order_is_answered_at_once():
    look, _ = looks(None)
    assert asyncio.run(OrderWatch().until_settled("o1", 10, look)) is None


def test_a_change_from_a_worker_thread_wakes_the_waiter_before_it_would_look_again():
    watch = OrderWatch(recheck_seconds=30)
    look, calls = looks("PENDING", "CONFIRMED")

    async def wait_and_change() -> tuple[dict | None, float]:
        started = time.monotonic()
        waiting = asyncio.create_task(watch.until_settled("o1", 20, look))
        while not calls:  # the first look has been made
            await asyncio.sleep(0)
        threading.Thread(target=watch.changed, args=("o1",)).start()
        return await waiting, time.monotonic() - started

    view, took = asyncio.run(wait_and_change())
    assert view == {"status": "CONFIRMED"} and took < 5
    assert not watch._waiters  # nobody left registered


def test_a_change_elsewhere_is_seen_by_looking_again():
    look, calls = looks("PAID", "PAID", "CONFIRMED")
    view = asyncio.run(OrderWatch(recheck_seconds=0.01).until_settled("o1", 10, look))
    assert view == {"status": "CONFIRMED"} and len(calls) == 3


def test_the_last_view_is_answered_when_the_time_is_up():
    look, _ = looks("PAYMENT_PENDING")
    view = asyncio.run(OrderWatch(recheck_seconds=0.01).until_settled("o1", 0.05, look))
    assert view == {"status": "PAYMENT_PENDING"}
