"""How the gateway reaches the services that own the data: Dapr service invocation through its
sidecar (`Sidecar`, from the app's state), the owner's answer relayed as it is (503 when the
owner cannot be reached, 502 when it failed), and the ownership checks that make another
customer's order or account look absent."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import httpx
from fastapi import Depends, Request, Response
from fastapi.responses import JSONResponse

from apps.common.contracts import ORDER_SETTLED_HEADER, PlaceOrder, SetFunds, SetStock
from apps.common.dapr import AsyncDaprClient, SidecarError
from apps.common.problems import PROBLEM_JSON, Problem, problem_response
from apps.gateway.tokens import Principal

ORDERS, INVENTORY, PAYMENTS, NOTIFICATIONS = (
    "order-service",
    "inventory-service",
    "payment-service",
    "notification-service",
)
log = logging.getLogger(__name__)
MAX_ROW_ID = 2**31 - 1
# A client's wait for an order to settle is passed on in slices of at most this long, each one
# call: a call that hangs (an instance frozen) is then told apart from a long wait by the
# per-attempt timeout of components/common/resiliency-gateway.yaml (2 s), and retried on
# another instance.
WAIT_SLICE_SECONDS = 1.0


async def sidecar(request: Request) -> AsyncDaprClient:  # async: see auth.caller
    client: AsyncDaprClient = request.app.state.dapr
    return client


Sidecar = Annotated[AsyncDaprClient, Depends(sidecar)]


async def call(
    dapr: AsyncDaprClient,
    app_id: str,
    path: str,
    *,
    verb: str = "GET",
    body: bytes | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """The owner's answer; 503 if it cannot be reached, 502 if it failed."""
    hdrs = {"content-type": "application/json", **(headers or {})}
    try:
        upstream = await dapr.invoke(
            app_id, path, verb=verb, body=body, params=params, headers=hdrs
        )
    except SidecarError as exc:
        raise Problem(503, "Service unavailable", f"{app_id} cannot be reached") from exc
    if upstream.is_success and not upstream.content:
        # Every app answers with a body. An empty 2xx is the sidecar's, not the app's: daprd
        # 1.18.3 was seen answering 200 with nothing while the callee's app was down, after
        # its resiliency retries (docs/replicas-availability.md). The request may not have
        # been done: the client is told to send it again.
        log.warning(
            "%s %s: %s's sidecar answered %s without a body",
            verb,
            path,
            app_id,
            upstream.status_code,
        )
        raise Problem(503, "Service unavailable", f"{app_id} sent no answer; try again")
    if upstream.status_code == 503 and "retry-after" in upstream.headers:
        return upstream  # the owner sheds load (admission control): relayed with Retry-After
    if upstream.status_code >= 500:
        # The body says who failed: the owner's problem, or its sidecar's (ERR_DIRECT_INVOKE...).
        log.warning(
            "%s %s: %s answered %s: %s",
            verb,
            path,
            app_id,
            upstream.status_code,
            upstream.text[:300],
        )
        raise Problem(502, "Upstream failure", f"{app_id} answered {upstream.status_code}")
    return upstream


def relay(upstream: httpx.Response) -> Response:
    passthrough = {
        k: v for k, v in upstream.headers.items() if k.lower() in ("location", "retry-after")
    }
    media = upstream.headers.get("content-type", "application/json")
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        headers=passthrough,
        media_type=PROBLEM_JSON if "problem" in media else media,
    )


async def forward(dapr: AsyncDaprClient, app_id: str, path: str, **kwargs: Any) -> Response:
    return relay(await call(dapr, app_id, path, **kwargs))


def json_object(upstream: httpx.Response) -> dict[str, Any]:
    try:
        body = upstream.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise Problem(502, "Upstream failure", "the owning service sent an unreadable answer")
    return body


# The owners' own 404s, word for word: someone else's order or account must look absent.
def order_not_found(order_id: str) -> Response:
    return problem_response(404, "Order not found", f"no order {order_id}")


def account_not_found(customer_id: str) -> Response:
    return problem_response(404, "Account not found", f"no account for {customer_id}")


async def waited(
    ask: Callable[[float], Awaitable[httpx.Response]], wait_seconds: float
) -> httpx.Response:
    """The answer of `ask(seconds)` once order-service says the order settled or
    `wait_seconds` are up, asking in slices of WAIT_SLICE_SECONDS."""
    deadline = time.monotonic() + wait_seconds
    while True:
        left = deadline - time.monotonic()
        upstream = await ask(max(min(left, WAIT_SLICE_SECONDS), 0.0))
        unsettled = upstream.headers.get(ORDER_SETTLED_HEADER) == "false"
        if not unsettled or upstream.status_code >= 300 or left <= WAIT_SLICE_SECONDS:
            return upstream


def wait_params(seconds: float) -> dict[str, str]:
    return {"waitSeconds": f"{seconds:.3f}"} if seconds > 0 else {}


async def own_order(
    dapr: AsyncDaprClient, principal: Principal, order_id: str, wait_seconds: float = 0
) -> httpx.Response | Response:
    """The order's answer from order-service, or a 404 if it is someone else's. With
    `wait_seconds`, order-service answers once the order has settled; it is told whose order
    may be waited for, so that another customer's order is not found at once, not after a
    wait that would tell it exists."""

    async def ask(seconds: float) -> httpx.Response:
        params = wait_params(seconds)
        if seconds and not principal.is_admin:
            params["customerId"] = principal.subject
        return await call(dapr, ORDERS, f"orders/{order_id}", params=params or None)

    upstream = await waited(ask, wait_seconds)
    if upstream.status_code != 200 or principal.is_admin:
        return upstream
    owner = json_object(upstream).get("customerId")
    if not isinstance(owner, str):
        raise Problem(502, "Upstream failure", f"{ORDERS} sent an order without its customer")
    return upstream if principal.may_act_for(owner) else order_not_found(order_id)


async def place(
    dapr: AsyncDaprClient, body: bytes, headers: dict[str, str], wait_seconds: float
) -> Response:
    """POST /orders at order-service; with `wait_seconds`, answered (202) once the order has
    settled or the wait is up: the first slice in the POST, the rest as GETs of the order."""
    first = min(wait_seconds, WAIT_SLICE_SECONDS)
    placed = await call(
        dapr,
        ORDERS,
        "orders",
        verb="POST",
        body=body,
        headers=headers,
        params=wait_params(first) or None,
    )
    if wait_seconds <= first or placed.headers.get(ORDER_SETTLED_HEADER) != "false":
        return relay(placed)
    order_id = json_object(placed).get("orderId")

    async def ask(seconds: float) -> httpx.Response:
        return await call(dapr, ORDERS, f"orders/{order_id}", params=wait_params(seconds) or None)

    settled = await waited(ask, wait_seconds - first)
    if settled.status_code != 200:
        return relay(placed)
    answer = relay(settled)
    answer.status_code = 202
    answer.headers["location"] = placed.headers["location"]
    return answer


async def own_items(
    dapr: AsyncDaprClient, principal: Principal, app_id: str, path: str, params: dict[str, str]
) -> Response:
    """A list answer (`items`) with only the caller's own items for a customer."""
    upstream = await call(dapr, app_id, path, params=params)
    if principal.is_admin or upstream.status_code != 200:
        return relay(upstream)
    body = json_object(upstream)
    items = body.get("items")
    if not isinstance(items, list):
        raise Problem(502, "Upstream failure", f"{app_id} sent no list of items")
    mine = [i for i in items if isinstance(i, dict) and i.get("customerId") == principal.subject]
    return JSONResponse({**body, "items": mine})


def body_of(model: PlaceOrder | SetStock | SetFunds) -> bytes:
    return model.model_dump_json(by_alias=True).encode()
