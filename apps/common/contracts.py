"""The messages services exchange: public order request, Kafka topics and their payloads.

One module so producer and consumer can never disagree on a field name.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic.alias_generators import to_camel

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=64)]

# Topics (one per command or event type, named after it).
RESERVE_STOCK = "reserve-stock"
RELEASE_STOCK = "release-stock"
STOCK_REPLIES = "stock-replies"
ORDER_CONFIRMED = "order-confirmed"
ORDER_CANCELLED = "order-cancelled"
DEAD_LETTERS = "dead-letters"


class Message(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    def wire(self) -> dict:
        return self.model_dump(mode="json", by_alias=True)


class OrderLine(Message):
    product_id: Identifier
    quantity: int = Field(ge=1, le=1000, strict=True)
    unit_price: Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)

    @field_validator("unit_price", mode="before")
    @classmethod
    def _number_or_decimal_string(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValueError("unitPrice must be a JSON number or a decimal string")
        # floats come from JSON numbers: go through their shortest repr so 25.5 stays 25.5
        return Decimal(repr(value)) if isinstance(value, float) else value


class PlaceOrder(Message):
    customer_id: Identifier
    items: list[OrderLine] = Field(min_length=1, max_length=100)


class StockLine(Message):
    product_id: str
    quantity: int


class ReserveStock(Message):
    order_id: str
    items: list[StockLine]


class ReleaseStock(Message):
    order_id: str


class StockReply(Message):
    order_id: str
    reserved: bool
    reason: str | None = None


class OrderConfirmed(Message):
    order_id: str
    customer_id: str
    total_amount: Decimal


class OrderCancelled(Message):
    order_id: str
    customer_id: str
    reason: str | None = None


class ChargePayment(Message):
    order_id: str
    customer_id: str
    amount: Decimal


class PaymentResult(Message):
    payment_id: str | None = None
    order_id: str
    status: str  # CHARGED | DECLINED | REFUNDED
    reason: str | None = None


class SetStock(Message):
    available: int = Field(ge=0, le=1_000_000_000, strict=True)


class SetFunds(Message):
    balance: Decimal = Field(ge=0, max_digits=14, decimal_places=2, allow_inf_nan=False)

    @field_validator("balance", mode="before")
    @classmethod
    def _number_or_decimal_string(cls, value: object) -> object:
        return OrderLine._number_or_decimal_string(value)
