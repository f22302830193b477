"""What the gateway makes of its sidecar's answers (apps/gateway/forwarding.py `call`): the
owner's answer relayed, an empty 2xx (the sidecar's, never an app's) turned into a 503 the
client retries. The sidecar is faked: what is tested is the mapping, not Dapr."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from apps.common.problems import Problem
from apps.gateway.forwarding import call


class Sidecar:
    def __init__(self, answer: httpx.Response) -> None:
        self.answer = answer

    async def invoke(self, app_id: str, method: str, **kwargs: Any) -> httpx.Response:
        return self.answer


def answer_of(response: httpx.Response) -> httpx.Response:
    return asyncio.run(call(Sidecar(response), "order-service", "orders", verb="POST"))  # type: ignore[arg-type]


def test_an_apps_answer_is_relayed() -> None:
    assert answer_of(httpx.Response(202, json={"orderId": "o1"})).status_code == 202


def test_an_empty_success_from_the_sidecar_is_a_503_to_retry() -> None:
    with pytest.raises(Problem) as raised:
        answer_of(httpx.Response(200, content=b""))
    assert raised.value.status == 503


def test_an_owner_failure_is_a_502() -> None:
    with pytest.raises(Problem) as raised:
        answer_of(httpx.Response(500, json={"title": "boom"}))
    assert raised.value.status == 502
