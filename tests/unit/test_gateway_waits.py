"""The gateway passes a client's wait for an order on in slices (apps/gateway/forwarding.py
`waited`), so that no single call to order-service outlasts the per-attempt timeout of
components/common/resiliency-gateway.yaml."""

from __future__ import annotations

import asyncio
import time

import httpx

from apps.common.contracts import ORDER_SETTLED_HEADER
from apps.gateway.forwarding import WAIT_SLICE_SECONDS, waited


def order_service(settle_after: float, status: int = 200):
    """An `ask` like the gateway's: waits its slice (or less, if the order settles in it) and
    answers with the settled flag; records the slices asked for."""
    began, slices = time.monotonic(), []

    async def ask(seconds: float) -> httpx.Response:
        slices.append(seconds)
        settles_in = settle_after - (time.monotonic() - began)
        await asyncio.sleep(max(0.0, min(seconds, settles_in)))
        done = settles_in <= seconds
        flag = {ORDER_SETTLED_HEADER: "true" if done else "false"} if seconds else {}
        return httpx.Response(status, headers=flag, json={"status": "x"})

    return ask, slices


def test_no_wait_is_one_call_without_a_wait():
    ask, slices = order_service(settle_after=5)
    asyncio.run(waited(ask, 0))
    assert slices == [0.0]


def test_a_long_wait_is_asked_in_slices_until_the_order_settles():
    ask, slices = order_service(settle_after=2.5 * WAIT_SLICE_SECONDS)
    answer = asyncio.run(waited(ask, 10 * WAIT_SLICE_SECONDS))
    assert answer.headers[ORDER_SETTLED_HEADER] == "true"
    assert len(slices) == 3 and max(slices) <= WAIT_SLICE_SECONDS


def test_the_wait_ends_when_its_time_is_up_though_the_order_has_not_settled():
    ask, slices = order_service(settle_after=60)
    started = time.monotonic()
    answer = asyncio.run(waited(ask, 2.5 * WAIT_SLICE_SECONDS))
    assert answer.headers[ORDER_SETTLED_HEADER] == "false"
    assert time.monotonic() - started < 3.5 * WAIT_SLICE_SECONDS
    assert all(s <= WAIT_SLICE_SECONDS for s in slices) and len(slices) == 3


def test_an_error_ends_the_wait_at_once():
    ask, slices = order_service(settle_after=60, status=404)
    assert asyncio.run(waited(ask, 10)).status_code == 404 and len(slices) == 1
