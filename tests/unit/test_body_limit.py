"""The streaming request body limit (apps/common/body_limit.py): a chunked body over the limit
is answered 413 problem+json as soon as the chunk that crosses it arrives; the rest is never
read. Driven as raw ASGI calls, so every chunk the app pulls is counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.common.body_limit import StreamingBodyLimit
from apps.common.problems import problem_response
from apps.common.settings import get_settings
from apps.gateway.tokens import Role
from tests.unit.gateway_app import FakeSidecar, gateway, new_keys

CHUNK = 1024
pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ChunkedUpload:
    """An ASGI `receive` that hands out `chunks` chunks of CHUNK bytes, one per call."""

    def __init__(self, chunks: int, first: bytes = b"") -> None:
        self.chunks, self.first, self.pulled = chunks, first, 0

    async def __call__(self) -> dict[str, Any]:
        if self.pulled >= self.chunks:
            return {"type": "http.disconnect"}
        body = self.first if self.pulled == 0 and self.first else b" " * CHUNK
        self.pulled += 1
        return {"type": "http.request", "body": body, "more_body": self.pulled < self.chunks}


class Answer:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def __call__(self, message: dict[str, Any]) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int:
        return next(m["status"] for m in self.messages if m["type"] == "http.response.start")

    @property
    def headers(self) -> dict[str, str]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        return {k.decode(): v.decode() for k, v in start["headers"]}

    @property
    def body(self) -> dict:
        return json.loads(b"".join(m.get("body", b"") for m in self.messages[1:]))


def scope(path: str = "/", headers: list[tuple[bytes, bytes]] | None = None) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), *(headers or [])],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8080),
    }


async def read_everything(scope: dict, receive, send) -> None:
    """An app that buffers the whole body, as a naive limit or a route would."""
    received = b""
    while True:
        message = await receive()
        received += message.get("body", b"")
        if not message.get("more_body"):
            break
    await problem_response(200, "read", len(received))(scope, receive, send)


async def test_a_chunked_body_over_the_limit_is_413_after_the_crossing_chunk():
    upload, answer = ChunkedUpload(chunks=1000), Answer()
    await StreamingBodyLimit(read_everything, max_bytes=4 * CHUNK)(scope(), upload, answer)
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.body["title"] == "Request body too large"
    assert upload.pulled == 5  # four chunks fit, the fifth crosses: nothing after it was read


async def test_a_chunked_body_within_the_limit_passes_whole():
    upload, answer = ChunkedUpload(chunks=4), Answer()
    await StreamingBodyLimit(read_everything, max_bytes=4 * CHUNK)(scope(), upload, answer)
    assert answer.status == 200
    assert answer.body["detail"] == 4 * CHUNK


@pytest.mark.parametrize("length", [b"4097", b"-1", b"12abc", b"1" * 40])
async def test_a_declared_length_over_the_limit_or_garbled_is_413_unread(length):
    upload, answer = ChunkedUpload(chunks=5), Answer()
    request = scope(headers=[(b"content-length", length)])
    await StreamingBodyLimit(read_everything, max_bytes=4 * CHUNK)(request, upload, answer)
    assert answer.status == 413
    assert upload.pulled == 0


async def test_an_answer_the_app_gave_after_the_limit_is_replaced_by_the_413():
    """A reader that turns the error into its own answer (FastAPI makes a 400 of a body it
    could not read) does not get to send it."""

    async def converts_errors(scope: dict, receive, send) -> None:
        try:
            await read_everything(scope, receive, send)
        except Exception:
            await problem_response(400, "There was an error parsing the body")(scope, receive, send)

    upload, answer = ChunkedUpload(chunks=100), Answer()
    await StreamingBodyLimit(converts_errors, max_bytes=2 * CHUNK)(scope(), upload, answer)
    assert answer.status == 413
    assert [m["type"] for m in answer.messages] == ["http.response.start", "http.response.body"]
    assert upload.pulled == 3


async def test_the_gateway_answers_413_to_an_oversized_chunked_order(tmp_path: Path):
    """Through the whole gateway, as create_app installs the limit."""
    keys, sidecar = new_keys(tmp_path), FakeSidecar()
    app = gateway(keys, sidecar)
    limit = get_settings().max_body_bytes
    chunks = limit // CHUNK + 50
    token = keys.token("ops", Role.ADMIN).encode()
    request = scope("/api/v1/orders", headers=[(b"authorization", b"Bearer " + token)])
    upload, answer = ChunkedUpload(chunks=chunks, first=b'{"customerId": "c", "pad": "'), Answer()
    await app(request, upload, answer)
    assert answer.status == 413
    assert answer.headers["content-type"] == "application/problem+json"
    assert upload.pulled <= limit // CHUNK + 1
    assert sidecar.calls == []
