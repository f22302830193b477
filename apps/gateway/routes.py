"""The public API (/api/v1). The gateway checks who calls (apps/gateway/auth.py) and validates
input, then forwards each call through Dapr service invocation to the service that owns the
data. What each route can answer is declared with it (apps/gateway/openapi.py); bodies pass
through unchanged, except that a customer is shown only what is its own.

Who may do what:
- a customer places orders for itself, lists, reads and cancels its own orders, reads its own
  balance and the payments and notifications of its own orders;
- an admin does all that for any customer, and sets stock and balances, reads stock, ships and
  delivers orders and handles dead letters (403 for a customer).
Another customer's order or account answers exactly as one that does not exist (404), so a
customer cannot probe ids. A customer naming another customer in a request (an order's
`customerId`, the `customerId` of a listing) is refused with 403: the request is well formed,
the caller may not make it.
"""

from __future__ import annotations

import uuid

import httpx
from fastapi import APIRouter, Header, Path, Query, Response

from apps.common.contracts import Identifier, PlaceOrder, SetFunds, SetStock
from apps.common.problems import Problem
from apps.gateway.auth import Admin, Caller
from apps.gateway.forwarding import (
    INVENTORY,
    MAX_ROW_ID,
    NOTIFICATIONS,
    ORDERS,
    PAYMENTS,
    Sidecar,
    account_not_found,
    body_of,
    forward,
    own_items,
    own_order,
    place,
    relay,
)
from apps.gateway.openapi import (
    AccountView,
    DeadLetterList,
    DeadLetterView,
    DrivenOrderView,
    NotificationList,
    OrderCounts,
    OrderPage,
    OrderView,
    PaymentList,
    StockView,
    answers,
)
from apps.gateway.tokens import Principal

router = APIRouter(prefix="/api/v1")


WaitSeconds = Query(
    default=0,
    alias="waitSeconds",
    ge=0,
    le=10,
    description="Answer once the order has settled (CONFIRMED, CANCELLED, SHIPPED, "
    "DELIVERED) or after this many seconds, whichever comes first: one request instead of "
    "polling.",
)


@router.post(
    "/orders",
    status_code=202,
    response_model=OrderView,
    responses=answers(400, 403, 409, 413, location=True),
)
async def place_order(
    order: PlaceOrder,
    principal: Caller,
    dapr: Sidecar,
    idempotency_key: str | None = Header(default=None, min_length=1, max_length=200),
    wait_seconds: float = WaitSeconds,
) -> Response:
    """Places an order; a customer only for itself (`customerId` is its token's subject). With
    `waitSeconds`, the answer is the order as it is once settled (still 202): placing and
    learning the outcome in one request."""
    if not principal.may_act_for(order.customer_id):
        raise Problem(403, "Forbidden", "a customer places orders for itself only")
    # Without the client's key, one of the gateway's own for this request: the gateway's
    # sidecar retries a call that may have reached an instance that then died or froze
    # (components/common/resiliency-gateway.yaml), and a retry must not place a second order.
    headers = {"idempotency-key": idempotency_key or f"gateway-{uuid.uuid4()}"}
    return await place(dapr, body_of(order), headers, wait_seconds)


def whose(principal: Principal, customer_id: str | None) -> dict[str, str]:
    """The `customerId` a listing or count is for: a customer's own (403 naming another), an
    admin's choice (everyone's when it names none)."""
    if customer_id is None:
        return {} if principal.is_admin else {"customerId": principal.subject}
    if not principal.may_act_for(customer_id):
        raise Problem(403, "Forbidden", "a customer lists its own orders only")
    return {"customerId": customer_id}


OrderStatus = Query(
    default=None, description="only orders with this status (PENDING, ..., CONFIRMED, CANCELLED)"
)
SagaStatus = Query(
    default=None,
    alias="sagaStatus",
    description="only orders whose saga has this status (STARTED, COMPLETED, COMPENSATING, "
    "COMPENSATED, FAILED)",
)


WhoseOrders = Query(
    default=None,
    alias="customerId",
    description="whose orders; a customer's own by default, everyone's for an admin",
)


@router.get("/orders", response_model=OrderPage, responses=answers(400, 403))
async def list_orders(
    principal: Caller,
    dapr: Sidecar,
    customer_id: Identifier | None = WhoseOrders,
    status: Identifier | None = OrderStatus,
    saga_status: Identifier | None = SagaStatus,
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    """Newest first, paged with `next`."""
    params = {**whose(principal, customer_id), "limit": str(limit)}
    if status:
        params["status"] = status
    if saga_status:
        params["sagaStatus"] = saga_status
    if cursor:
        params["cursor"] = cursor
    return await forward(dapr, ORDERS, "orders", params=params)


@router.get("/order-counts", response_model=OrderCounts, responses=answers(403))
async def count_orders(
    principal: Caller,
    dapr: Sidecar,
    customer_id: Identifier | None = WhoseOrders,
) -> Response:
    """How many orders there are per order status and per saga status."""
    return await forward(dapr, ORDERS, "orders/counts", params=whose(principal, customer_id))


@router.get("/stuck-orders", response_model=OrderPage, responses=answers(403))
async def stuck_orders(
    _admin: Admin,
    dapr: Sidecar,
    idle_seconds: int = Query(
        default=60,
        alias="idleSeconds",
        ge=1,
        le=7 * 86400,
        description="not at an end, and unchanged for at least this long",
    ),
    limit: int = Query(default=50, ge=1, le=200),
) -> Response:
    """Orders whose saga has not reached its end and has not moved for `idleSeconds`, oldest
    first (operators)."""
    params = {"idleSeconds": str(idle_seconds), "limit": str(limit)}
    return await forward(dapr, ORDERS, "orders/stuck", params=params)


@router.get("/orders/{order_id}", response_model=OrderView, responses=answers(404))
async def get_order(
    order_id: Identifier,
    principal: Caller,
    dapr: Sidecar,
    wait_seconds: float = WaitSeconds,
) -> Response:
    found = await own_order(dapr, principal, order_id, wait_seconds)
    return relay(found) if isinstance(found, httpx.Response) else found


@router.post(
    "/orders/{order_id}/cancel",
    status_code=202,
    response_model=OrderView,
    responses=answers(404, 409),
)
async def cancel_order(order_id: Identifier, principal: Caller, dapr: Sidecar) -> Response:
    if not principal.is_admin:
        found = await own_order(dapr, principal, order_id)
        if not isinstance(found, httpx.Response):
            return found
        if found.status_code != 200:
            return relay(found)
    return await forward(dapr, ORDERS, f"orders/{order_id}/cancel", verb="POST")


@router.post(
    "/orders/{order_id}/drive",
    status_code=202,
    response_model=DrivenOrderView,
    responses=answers(403, 404, 409),
)
async def drive_order(order_id: Identifier, _admin: Admin, dapr: Sidecar) -> Response:
    """Drives a stuck order to its end now, as the reconciler would: starts its saga if it never
    started, else resumes it from its record (terminating a workflow that is still alive
    first). 409 if the order is at its end already (operators)."""
    return await forward(dapr, ORDERS, f"orders/{order_id}/drive", verb="POST")


@router.post("/orders/{order_id}/ship", response_model=OrderView, responses=answers(403, 404, 409))
async def ship_order(order_id: Identifier, _admin: Admin, dapr: Sidecar) -> Response:
    return await forward(dapr, ORDERS, f"orders/{order_id}/ship", verb="POST")


@router.post(
    "/orders/{order_id}/deliver", response_model=OrderView, responses=answers(403, 404, 409)
)
async def deliver_order(order_id: Identifier, _admin: Admin, dapr: Sidecar) -> Response:
    return await forward(dapr, ORDERS, f"orders/{order_id}/deliver", verb="POST")


@router.put(
    "/inventory/{product_id}", response_model=StockView, responses=answers(400, 403, 404, 413)
)
async def set_stock(
    product_id: Identifier, body: SetStock, _admin: Admin, dapr: Sidecar
) -> Response:
    return await forward(dapr, INVENTORY, f"inventory/{product_id}", verb="PUT", body=body_of(body))


@router.get("/inventory/{product_id}", response_model=StockView, responses=answers(403, 404))
async def get_stock(product_id: Identifier, _admin: Admin, dapr: Sidecar) -> Response:
    return await forward(dapr, INVENTORY, f"inventory/{product_id}")


@router.put(
    "/accounts/{customer_id}", response_model=AccountView, responses=answers(400, 403, 404, 413)
)
async def set_funds(
    customer_id: Identifier, body: SetFunds, _admin: Admin, dapr: Sidecar
) -> Response:
    return await forward(dapr, PAYMENTS, f"accounts/{customer_id}", verb="PUT", body=body_of(body))


@router.get("/accounts/{customer_id}", response_model=AccountView, responses=answers(404))
async def get_account(customer_id: Identifier, principal: Caller, dapr: Sidecar) -> Response:
    if not principal.may_act_for(customer_id):
        return account_not_found(customer_id)
    return await forward(dapr, PAYMENTS, f"accounts/{customer_id}")


@router.get("/payments", response_model=PaymentList, responses=answers())
async def list_payments(
    principal: Caller, dapr: Sidecar, order_id: Identifier = Query(alias="orderId")
) -> Response:
    """The order's payments; for a customer, none unless the order is its own."""
    return await own_items(dapr, principal, PAYMENTS, "payments", {"orderId": order_id})


@router.get("/notifications", response_model=NotificationList, responses=answers())
async def list_notifications(
    principal: Caller, dapr: Sidecar, order_id: Identifier = Query(alias="orderId")
) -> Response:
    """The order's notifications; for a customer, none unless the order is its own."""
    return await own_items(dapr, principal, NOTIFICATIONS, "notifications", {"orderId": order_id})


@router.get("/dead-letters", response_model=DeadLetterList, responses=answers(403))
async def list_dead_letters(
    _admin: Admin, dapr: Sidecar, limit: int = Query(default=100, ge=1, le=500)
) -> Response:
    """Messages no consumer could process, newest first (operators)."""
    return await forward(dapr, NOTIFICATIONS, "dead-letters", params={"limit": str(limit)})


@router.post(
    "/dead-letters/{letter_id}/redrive",
    status_code=202,
    response_model=DeadLetterView,
    responses=answers(403, 404, 409),
)
async def redrive_dead_letter(
    _admin: Admin, dapr: Sidecar, letter_id: int = Path(ge=1, le=MAX_ROW_ID)
) -> Response:
    """Publishes the letter's payload to its original topic again; once per letter (409 after)."""
    return await forward(dapr, NOTIFICATIONS, f"dead-letters/{letter_id}/redrive", verb="POST")
