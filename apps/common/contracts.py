"""The messages services exchange: public order request, Kafka topics and their payloads.

One module so producer and consumer can never disagree on a field name. Every message is
validated as strictly as the public API, wherever it comes from (the gateway, a sidecar, Kafka):
a forged or garbled message is refused, never applied. A consumer of a topic ignores properties
it does not know (`apps.common.pubsub.parse_message`), so a producer can roll out a newer version
of a message (an optional field added) while older consumers still run; the public API and the
service calls refuse them. Each topic's versions and their compatibility rule:
contracts/catalog.py, docs/compatibility.md.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import CoreSchema, core_schema

IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]*$"


class Identifier(str):
    """An id (order, customer, product): 1-64 letters, digits and `._:@-`, starting with a
    letter or digit. Ids travel in URL paths and query strings (service invocation), message
    keys and log lines: only characters that need no escaping anywhere. Validates to a plain
    str. A class, not an `Annotated` alias, because FastAPI drops an alias's constraints from a
    parameter declared `x: Identifier = Query(...)`."""

    @classmethod
    def __get_pydantic_core_schema__(cls, _source: object, _handler: object) -> CoreSchema:
        return core_schema.str_schema(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)


Reason = Annotated[str, StringConstraints(max_length=500)]

MAX_LINES = 100
MAX_QUANTITY = 1000
MAX_UNIT_PRICE = Decimal("1000000.00")
# The largest order total, and so the largest charge: every line at the maximum.
MAX_AMOUNT = MAX_LINES * MAX_QUANTITY * MAX_UNIT_PRICE

_PLAIN_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?")


def _number_or_decimal_string(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a JSON number or a decimal string")
    if isinstance(value, str) and not _PLAIN_DECIMAL.fullmatch(value):
        raise ValueError("must be a decimal string such as 12.50")
    # floats come from JSON numbers: go through their shortest repr so 25.5 stays 25.5
    return Decimal(repr(value)) if isinstance(value, float) else value


def _money_schema(maximum: Decimal, *, positive: bool = False) -> WithJsonSchema:
    """The published JSON Schema of an amount (contracts/): a JSON number or a decimal string
    with at most two decimals, 0 (or more than 0) up to `maximum`."""
    low = {"exclusiveMinimum": 0} if positive else {"minimum": 0}
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", **low, "maximum": float(maximum)},
                {"type": "string", "pattern": r"^\+?[0-9]+(\.[0-9]{1,2})?$"},
            ],
            "description": f"an amount with at most 2 decimals, at most {maximum}",
        }
    )


_AS_DECIMAL = BeforeValidator(_number_or_decimal_string)
MAX_BALANCE = Decimal("999999999999.99")  # 14 digits
UnitPrice = Annotated[
    Decimal,
    _AS_DECIMAL,
    Field(ge=0, le=MAX_UNIT_PRICE, decimal_places=2, allow_inf_nan=False),
    _money_schema(MAX_UNIT_PRICE),
]
Amount = Annotated[  # something to charge: never zero or negative
    Decimal,
    _AS_DECIMAL,
    Field(gt=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    _money_schema(MAX_AMOUNT, positive=True),
]
Total = Annotated[
    Decimal,
    _AS_DECIMAL,
    Field(ge=0, le=MAX_AMOUNT, decimal_places=2, allow_inf_nan=False),
    _money_schema(MAX_AMOUNT),
]
Balance = Annotated[
    Decimal,
    _AS_DECIMAL,
    Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False),
    _money_schema(MAX_BALANCE),
]
Quantity = Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]

# order-service's answer to a request with `waitSeconds`: "true" if the order settled within
# the wait, "false" if the wait ran out first (the gateway waits in short slices on it).
ORDER_SETTLED_HEADER = "Order-Settled"

# Topics (one per command or event type, named after it).
RESERVE_STOCK = "reserve-stock"
RELEASE_STOCK = "release-stock"
STOCK_REPLIES = "stock-replies"
ORDER_CONFIRMED = "order-confirmed"
ORDER_CANCELLED = "order-cancelled"
DEAD_LETTERS = "dead-letters"


class Message(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class OrderLine(Message):
    product_id: Identifier
    quantity: Quantity
    unit_price: UnitPrice


class PlaceOrder(Message):
    customer_id: Identifier
    items: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @property
    def total(self) -> Decimal:
        return sum((line.unit_price * line.quantity for line in self.items), Decimal(0))

    @model_validator(mode="after")
    def _total_is_chargeable(self) -> PlaceOrder:
        # The saga charges the total: it must be an amount payment-service accepts.
        if not Decimal(0) < self.total <= MAX_AMOUNT:
            raise ValueError(f"the order total must be more than 0 and at most {MAX_AMOUNT}")
        return self


class StockLine(Message):
    product_id: Identifier
    quantity: Quantity


class ReserveStock(Message):
    order_id: Identifier
    items: list[StockLine] = Field(min_length=1, max_length=MAX_LINES)


class ReleaseStock(Message):
    order_id: Identifier


class StockReply(Message):
    order_id: Identifier
    reserved: bool
    reason: Reason | None = None


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcTime = Annotated[AwareDatetime, AfterValidator(_as_utc)]


class OrderConfirmed(Message):
    """Version 2 (contracts/schemas/order-confirmed/): v1 plus the optional `confirmedAt`."""

    order_id: Identifier
    customer_id: Identifier
    total_amount: Total
    confirmed_at: UtcTime | None = Field(
        default=None,
        description="when order-service confirmed the order (UTC; since v2, absent from v1)",
    )


class OrderCancelled(Message):
    order_id: Identifier
    customer_id: Identifier
    reason: Reason | None = None


class ChargePayment(Message):
    order_id: Identifier
    customer_id: Identifier
    amount: Amount


class RefundPayment(Message):
    order_id: Identifier
    customer_id: Identifier


class PaymentResult(Message):
    payment_id: str | None = None
    order_id: Identifier
    status: str  # CHARGED | DECLINED | REFUNDED
    reason: Reason | None = None


class SetStock(Message):
    available: int = Field(ge=0, le=1_000_000_000, strict=True)


class SetFunds(Message):
    balance: Balance
