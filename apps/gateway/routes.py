"""The public API (/api/v1). The gateway validates input, then forwards each call through
Dapr service invocation to the service that owns the data. What each route can answer is
declared with it (apps/gateway/openapi.py); bodies pass through unchanged."""

from __future__ import annotations

from fastapi import APIRouter, Header, Path, Query, Response

from apps.common.contracts import Identifier, PlaceOrder, SetFunds, SetStock
from apps.common.dapr import AsyncDaprClient, SidecarError
from apps.common.problems import PROBLEM_JSON, problem_response
from apps.gateway.openapi import (
    AccountView,
    DeadLetterList,
    DeadLetterView,
    NotificationList,
    OrderPage,
    OrderView,
    PaymentList,
    StockView,
    answers,
)

ORDERS, INVENTORY, PAYMENTS, NOTIFICATIONS = (
    "order-service",
    "inventory-service",
    "payment-service",
    "notification-service",
)
MAX_ROW_ID = 2**31 - 1

dapr = AsyncDaprClient()
router = APIRouter(prefix="/api/v1")


async def forward(
    app_id: str,
    path: str,
    *,
    verb: str = "GET",
    body: bytes | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    hdrs = {"content-type": "application/json", **(headers or {})}
    try:
        upstream = await dapr.invoke(
            app_id, path, verb=verb, body=body, params=params, headers=hdrs
        )
    except SidecarError:
        return problem_response(503, "Service unavailable", f"{app_id} cannot be reached")
    if upstream.status_code >= 500:
        return problem_response(
            502, "Upstream failure", f"{app_id} answered {upstream.status_code}"
        )
    passthrough = {k: v for k, v in upstream.headers.items() if k.lower() == "location"}
    media = upstream.headers.get("content-type", "application/json")
    return Response(
        upstream.content,
        status_code=upstream.status_code,
        headers=passthrough,
        media_type=PROBLEM_JSON if "problem" in media else media,
    )


def _json(model: PlaceOrder | SetStock | SetFunds) -> bytes:
    return model.model_dump_json(by_alias=True).encode()


@router.post(
    "/orders",
    status_code=202,
    response_model=OrderView,
    responses=answers(400, 409, 413, location=True),
)
async def place_order(
    order: PlaceOrder,
    idempotency_key: str | None = Header(default=None, min_length=1, max_length=200),
) -> Response:
    headers = {"idempotency-key": idempotency_key} if idempotency_key else None
    return await forward(ORDERS, "orders", verb="POST", body=_json(order), headers=headers)


@router.get("/orders", response_model=OrderPage, responses=answers(400))
async def list_orders(
    customer_id: Identifier = Query(alias="customerId"),
    limit: int = Query(default=20, ge=1, le=100),
    cursor: str | None = Query(default=None, max_length=500),
) -> Response:
    params = {"customerId": customer_id, "limit": str(limit)}
    if cursor:
        params["cursor"] = cursor
    return await forward(ORDERS, "orders", params=params)


@router.get("/orders/{order_id}", response_model=OrderView, responses=answers(404))
async def get_order(order_id: Identifier) -> Response:
    return await forward(ORDERS, f"orders/{order_id}")


@router.post(
    "/orders/{order_id}/cancel",
    status_code=202,
    response_model=OrderView,
    responses=answers(404, 409),
)
async def cancel_order(order_id: Identifier) -> Response:
    return await forward(ORDERS, f"orders/{order_id}/cancel", verb="POST")


@router.post("/orders/{order_id}/ship", response_model=OrderView, responses=answers(404, 409))
async def ship_order(order_id: Identifier) -> Response:
    return await forward(ORDERS, f"orders/{order_id}/ship", verb="POST")


@router.post("/orders/{order_id}/deliver", response_model=OrderView, responses=answers(404, 409))
async def deliver_order(order_id: Identifier) -> Response:
    return await forward(ORDERS, f"orders/{order_id}/deliver", verb="POST")


@router.put("/inventory/{product_id}", response_model=StockView, responses=answers(400, 404, 413))
async def set_stock(product_id: Identifier, body: SetStock) -> Response:
    return await forward(INVENTORY, f"inventory/{product_id}", verb="PUT", body=_json(body))


@router.get("/inventory/{product_id}", response_model=StockView, responses=answers(404))
async def get_stock(product_id: Identifier) -> Response:
    return await forward(INVENTORY, f"inventory/{product_id}")


@router.put("/accounts/{customer_id}", response_model=AccountView, responses=answers(400, 404, 413))
async def set_funds(customer_id: Identifier, body: SetFunds) -> Response:
    return await forward(PAYMENTS, f"accounts/{customer_id}", verb="PUT", body=_json(body))


@router.get("/accounts/{customer_id}", response_model=AccountView, responses=answers(404))
async def get_account(customer_id: Identifier) -> Response:
    return await forward(PAYMENTS, f"accounts/{customer_id}")


@router.get("/payments", response_model=PaymentList, responses=answers())
async def list_payments(order_id: Identifier = Query(alias="orderId")) -> Response:
    return await forward(PAYMENTS, "payments", params={"orderId": order_id})


@router.get("/notifications", response_model=NotificationList, responses=answers())
async def list_notifications(order_id: Identifier = Query(alias="orderId")) -> Response:
    return await forward(NOTIFICATIONS, "notifications", params={"orderId": order_id})


@router.get("/dead-letters", response_model=DeadLetterList, responses=answers())
async def list_dead_letters(limit: int = Query(default=100, ge=1, le=500)) -> Response:
    """Messages no consumer could process, newest first (operators)."""
    return await forward(NOTIFICATIONS, "dead-letters", params={"limit": str(limit)})


@router.post(
    "/dead-letters/{letter_id}/redrive",
    status_code=202,
    response_model=DeadLetterView,
    responses=answers(404, 409),
)
async def redrive_dead_letter(letter_id: int = Path(ge=1, le=MAX_ROW_ID)) -> Response:
    """Publishes the letter's payload to its original topic again; once per letter (409 after)."""
    return await forward(NOTIFICATIONS, f"dead-letters/{letter_id}/redrive", verb="POST")
