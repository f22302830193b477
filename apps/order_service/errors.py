"""What can go wrong with an order, as order-service's own exceptions, and the one handler that
answers each with its problem document (application/problem+json): the domain code names the
fault, this module alone knows its HTTP status."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from apps.common.problems import problem_response


class OrderError(Exception):
    """A request the order's state refuses; `detail` says why, for the client."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class OrderNotFound(OrderError):
    def __init__(self, order_id: str) -> None:
        super().__init__(f"no order {order_id}")


class StatusConflict(OrderError):
    """The order is not at the status the command needs."""


class AlreadyShipped(OrderError):
    """Too late to cancel."""


class AlreadyAtEnd(OrderError):
    """Nothing left to drive: the order's saga has ended."""


class IdempotencyConflict(OrderError):
    def __init__(self) -> None:
        super().__init__("this key was used with another body")


class InvalidCursor(OrderError):
    def __init__(self) -> None:
        super().__init__("use the `next` value of a previous page")


class SagaNotDriven(OrderError):
    """The sidecar or the workflow engine cannot take the operator's request now."""

    def __init__(self, title: str, detail: str) -> None:
        super().__init__(detail)
        self.title = title


# Each error's status and title (a SagaNotDriven carries its own title).
PROBLEMS: dict[type[OrderError], tuple[int, str]] = {
    OrderNotFound: (404, "Order not found"),
    StatusConflict: (409, "Order status conflict"),
    AlreadyShipped: (409, "Order already shipped"),
    AlreadyAtEnd: (409, "Order already at its end"),
    IdempotencyConflict: (409, "Idempotency-Key reused"),
    InvalidCursor: (400, "Invalid cursor"),
    SagaNotDriven: (503, ""),
}


def problem_of(exc: OrderError) -> tuple[int, str]:
    status, title = PROBLEMS[type(exc)]
    return status, exc.title if isinstance(exc, SagaNotDriven) else title


def install_order_errors(app: FastAPI) -> None:
    @app.exception_handler(OrderError)
    async def _order_error(_req: Request, exc: OrderError) -> JSONResponse:
        status, title = problem_of(exc)
        return problem_response(status, title, exc.detail)
