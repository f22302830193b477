"""An order's and its saga's statuses, which of them are ends, and which way they may move: the
one place the saga, order-service's records, its views and its waiters read them from. StrEnums,
so a status is the same string in the database, the API, the messages and workflow histories."""

from __future__ import annotations

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    PAID = "PAID"
    CONFIRMED = "CONFIRMED"
    SHIPPED = "SHIPPED"
    DELIVERED = "DELIVERED"
    CANCELLED = "CANCELLED"


class SagaStatus(StrEnum):
    STARTED = "STARTED"
    COMPLETED = "COMPLETED"  # the order is confirmed
    COMPENSATING = "COMPENSATING"
    COMPENSATED = "COMPENSATED"  # final: steps undone, the order cancelled
    FAILED = "FAILED"  # final: nothing done (no stock), the order cancelled


# The forward paths; CANCELLED, COMPENSATED and FAILED may follow any status but the shipped ones.
ORDER_FLOW = (
    OrderStatus.PENDING,
    OrderStatus.PAYMENT_PENDING,
    OrderStatus.PAID,
    OrderStatus.CONFIRMED,
    OrderStatus.SHIPPED,
    OrderStatus.DELIVERED,
)
SAGA_FLOW = (SagaStatus.STARTED, SagaStatus.COMPLETED, SagaStatus.COMPENSATING)
CANCELLING = frozenset({OrderStatus.CANCELLED, SagaStatus.COMPENSATED, SagaStatus.FAILED})
SHIPPED = frozenset({OrderStatus.SHIPPED, OrderStatus.DELIVERED})  # too late to cancel

SAGA_IN_FLIGHT = frozenset({SagaStatus.STARTED, SagaStatus.COMPENSATING})  # not at its end
# An order at one of these is settled: a client waiting for it (waitSeconds) is answered, and
# the reconciler leaves it alone once its saga has ended.
ORDER_SETTLED = frozenset(
    {OrderStatus.CONFIRMED, OrderStatus.CANCELLED, OrderStatus.SHIPPED, OrderStatus.DELIVERED}
)


def moves_forward(flow: tuple[str, ...], current: str, new: str) -> bool:
    """Whether an order (ORDER_FLOW) or a saga (SAGA_FLOW) at `current` may move to `new`: only
    forward along its flow, never out of a cancelled end, and to a cancelled end from anything
    not yet shipped. An activity that runs again late must not undo a later step."""
    if current in CANCELLING:
        return False
    if new in CANCELLING:
        return current not in SHIPPED
    return flow.index(new) > flow.index(current)
