"""A request body limit that holds for chunked bodies too, without reading them first.

ASGI middleware: a declared Content-Length over the limit is refused before anything is read; a
body without one (Transfer-Encoding: chunked) is counted as its chunks arrive, and the first
chunk that goes over the limit ends the request with 413. At most `max_bytes` plus one chunk is
ever held, by whoever reads the body. Whatever a reader makes of the refusal (FastAPI answers
400 to a body it could not read) is replaced by the 413, so the middleware outside it (metrics,
logs) sees the 413.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.common.problems import problem_response


class BodyTooLarge(Exception):
    """Raised into whoever reads past the limit; never leaves the middleware."""


class StreamingBodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    def _refusal(self) -> ASGIApp:
        return problem_response(413, "Request body too large", f"limit is {self.max_bytes} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refusal()(scope, receive, send)
            return

        received = 0
        over = False  # once over, whatever the app answers is replaced by the 413
        started = False  # a response began (before the body was read): it cannot become a 413

        async def counting_receive() -> Message:
            nonlocal received, over
            if over:
                raise BodyTooLarge  # never read on past the limit
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    over = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # e.g. FastAPI's 400 for a body it could not read: the 413 goes instead
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except Exception:
            # BodyTooLarge, bare or in an exception group (should a middleware run the app in a
            # task group), or what a reader made of it: the answer is the 413 unless one began.
            if not over or started:
                raise
        if over and not started:
            await self._refusal()(scope, receive, send)
