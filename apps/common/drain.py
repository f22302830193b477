"""Draining: an app leaves rotation before it stops, so that a planned restart (a rolling
upgrade, `kubectl rollout restart`, the stack runner's restart) fails no client request.

`POST /drain`, accepted from the loopback only (the pod's own preStop hook, or the stack runner on
the same machine), turns the app to draining: /readyz answers 503 (the Service and the runner take
it out of rotation), and every response carries `Connection: close`, so clients and sidecars
holding a keep-alive connection open a new one, to an instance that is not leaving. The call
returns once no request has come for `quiet` seconds (callers have moved on), at least `least`
and at most `most` seconds after it began. The stop that follows (SIGTERM) lets uvicorn finish
the requests still in flight.

`python -m apps.common.drain` makes that call for a Kubernetes preStop hook (deploy/k8s).
"""

from __future__ import annotations

import asyncio
import ipaddress
import sys
import time
import urllib.request
from dataclasses import dataclass

from pydantic import ValidationError
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apps.common.problems import problem_response
from apps.common.settings import Settings

DRAIN_PATH = "/drain"


@dataclass(frozen=True)
class DrainTimes:
    """Seconds: the least a drain lasts, the quiet that ends it, the most it lasts."""

    least: float
    quiet: float
    most: float

    @classmethod
    def from_settings(cls, settings: Settings) -> DrainTimes:
        return cls(
            least=settings.drain_least_seconds,
            quiet=settings.drain_quiet_seconds,
            most=settings.drain_most_seconds,
        )


class DrainState:
    """Whether the app is draining, and when it last saw a request (monotonic seconds)."""

    def __init__(self, times: DrainTimes) -> None:
        self.times = times
        self.draining = False
        self.last_request = time.monotonic()

    def accepting(self) -> bool:
        """A readiness check: False once draining began."""
        return not self.draining

    async def drain(self) -> float:
        """Begins draining (once) and waits until callers have moved on; the seconds it took."""
        self.draining = True
        began = time.monotonic()
        while True:
            now = time.monotonic()
            quiet_for = now - max(self.last_request, began)
            if now - began >= self.times.most:
                break
            if now - began >= self.times.least and quiet_for >= self.times.quiet:
                break
            await asyncio.sleep(0.1)
        return time.monotonic() - began


def _from_loopback(scope: Scope) -> bool:
    client = scope.get("client")
    if not client:
        return False
    try:
        return ipaddress.ip_address(client[0]).is_loopback
    except ValueError:
        return False


class DrainMiddleware:
    """Answers POST /drain itself (before access control: the caller is this machine or pod),
    and while draining adds `Connection: close` to every response."""

    def __init__(self, app: ASGIApp, state: DrainState) -> None:
        self.app, self.state = app, state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == DRAIN_PATH:
            await self._drain(scope, receive, send)
            return
        self.state.last_request = time.monotonic()
        if not self.state.draining:
            await self.app(scope, receive, send)
            return

        async def closing(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing)

    async def _drain(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Response
        if scope["method"] != "POST":
            response = problem_response(405, "Method Not Allowed", "POST /drain only")
        elif not _from_loopback(scope):
            response = problem_response(403, "Forbidden", "/drain is answered on the loopback only")
        else:
            took = await self.state.drain()
            response = JSONResponse({"status": "drained", "seconds": round(took, 1)})
        await response(scope, receive, send)


def main() -> int:
    """preStop hook: drain the app of this pod (APP_PORT), then let the kubelet stop it."""
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"drain: {exc}", file=sys.stderr)
        return 2
    if "app_port" not in settings.model_fields_set:
        print("drain: APP_PORT is not set to a port number", file=sys.stderr)
        return 2
    url = f"http://127.0.0.1:{settings.app_port}{DRAIN_PATH}"
    request = urllib.request.Request(url, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.drain_most_seconds + 10) as resp:
            print(resp.read().decode(errors="replace"))
    except OSError as exc:  # the app is already gone: nothing to drain
        print(f"drain: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
