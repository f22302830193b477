"""Who may call the gateway, and how often.

`AccessGuard` (ASGI middleware, outermost) runs before anything reads the request: it verifies
the bearer token if there is one, takes a token from the caller's rate-limit bucket (keyed by
the token's subject, else by the client address), and refuses with problem+json: 429 with
Retry-After over the rate, 401 with `WWW-Authenticate: Bearer ...` without a valid token. Only
the probes, /metrics and the OpenAPI pages are open, and they are not rate limited.

The routes then ask for the caller (`Caller`) or an admin (`Admin`): a customer reaching an
admin-only route gets 403; the ownership rules live with the routes (apps/gateway/routes.py).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from apps.common.problems import Problem, problem_response
from apps.gateway.ratelimit import RateLimiter
from apps.gateway.tokens import InvalidToken, Principal, TokenVerifier

REALM = "order-platform"
PRINCIPAL = "principal"  # the key of the caller in the request's state
PROBES_AND_METRICS = ("/healthz", "/readyz", "/metrics")
log = logging.getLogger(__name__)

REFUSED = Counter(
    "gateway_requests_refused_total",
    "Requests the gateway refused before routing them: unauthenticated (no bearer token), "
    "invalid_token, rate_limited",
    ["reason"],
)


def challenge(error: str | None = None) -> str:
    """The WWW-Authenticate value of a 401 (RFC 6750 section 3)."""
    value = f'Bearer realm="{REALM}"'
    if error:
        value += f', error="invalid_token", error_description="{error}"'
    return value


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header; None if there is no Bearer
    credential at all (no header, or another scheme). An empty Bearer token is invalid."""
    if authorization is None:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    if not token or " " in token:
        raise InvalidToken("malformed Authorization header")
    return token


class AccessGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        verifier: TokenVerifier,
        limiter: RateLimiter,
        open_paths: Iterable[str],
    ) -> None:
        self.app, self.verifier, self.limiter = app, verifier, limiter
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # the gateway serves no websockets
            await send({"type": "websocket.close", "code": 1008})
            return
        principal, failure = self._authenticate(Headers(scope=scope))
        client = scope.get("client")
        bucket = f"sub:{principal.subject}" if principal else f"addr:{client[0] if client else '?'}"
        decision = self.limiter.take(bucket)
        if not decision.allowed:
            REFUSED.labels("rate_limited").inc()
            retry_after = max(1, math.ceil(decision.retry_after))
            refusal = problem_response(
                429, "Too many requests", f"over the rate limit; retry in {retry_after} s"
            )
            refusal.headers["Retry-After"] = str(retry_after)
            await refusal(scope, receive, send)
            return
        if principal is None:
            REFUSED.labels("invalid_token" if failure else "unauthenticated").inc()
            log.debug("401 %s %s: %s", scope["method"], scope["path"], failure or "no token")
            detail = f"invalid bearer token: {failure}" if failure else "a bearer token is required"
            refusal = problem_response(401, "Unauthorized", detail)
            refusal.headers["WWW-Authenticate"] = challenge(failure)
            await refusal(scope, receive, send)
            return
        scope.setdefault("state", {})[PRINCIPAL] = principal
        await self.app(scope, receive, send)

    def _authenticate(self, headers: Headers) -> tuple[Principal | None, str | None]:
        """The caller, or None and why its token was refused (None: it sent none)."""
        values = headers.getlist("authorization")
        try:
            if len(values) > 1:
                raise InvalidToken("more than one Authorization header")
            token = bearer_token(values[0] if values else None)
            return (self.verifier.verify(token), None) if token else (None, None)
        except InvalidToken as refused:
            return None, str(refused)


# What the routes depend on. The scheme declares the bearer token in the OpenAPI document; the
# token itself was checked by AccessGuard, which put the caller in the request's state.
bearer_scheme = HTTPBearer(
    scheme_name="bearerAuth",
    bearerFormat="JWT",
    description="An ES256 JWT with `sub` (the customer id) and `role` (customer or admin). "
    "Locally: `make -s token SUB=alice ROLE=customer`.",
    auto_error=False,
)


# async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
async def caller(
    request: Request,
    _declared: HTTPAuthorizationCredentials | None = Security(bearer_scheme),
) -> Principal:
    principal = request.scope.get("state", {}).get(PRINCIPAL)
    if not isinstance(principal, Principal):  # only without AccessGuard in front: fail closed
        raise HTTPException(401, "Unauthorized", headers={"WWW-Authenticate": challenge()})
    return principal


async def admin(principal: Annotated[Principal, Depends(caller)]) -> Principal:
    if not principal.is_admin:
        raise Problem(403, "Forbidden", "this operation is for admins only")
    return principal


Caller = Annotated[Principal, Depends(caller)]
Admin = Annotated[Principal, Depends(admin)]
