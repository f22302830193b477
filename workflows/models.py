"""What the saga passes around, as pydantic models: its input, each activity's input and answer,
the stock reply it waits for. Each workflow and activity validates what it is given where it
starts, and reads it by attribute.

On the wire (the workflow's input, activity inputs and results in the engine's history) the
keys stay what they always were, so recorded histories replay and an activity scheduled by the
previous release runs with this one: the order and the answers are camelCase, the two step
records (`ProgressUpdate`, `SagaEnding`) snake_case. `wire()` writes the keys that were given, in
the fields' order, and keeps keys a model does not name (extra="allow")."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, model_validator
from pydantic.alias_generators import to_camel

from workflows.statuses import OrderStatus, SagaStatus


class SagaModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    @classmethod
    def read(cls, data: Any) -> Self:
        return data if isinstance(data, cls) else cls.model_validate(data)

    def wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class SnakeCaseModel(SagaModel):
    model_config = ConfigDict(alias_generator=None, extra="allow")


class SagaItem(SagaModel):
    product_id: str
    quantity: int


class SagaInput(SagaModel):
    """The workflow's input (apps/order_service/sagas.py `Sagas._input`)."""

    order_id: str
    customer_id: str
    total_amount: str  # a decimal amount as text: "25.00"
    items: list[SagaItem]
    traceparent: str | None = None  # the order's trace: every activity continues it
    stock_timeout_seconds: float
    payment_deadline_seconds: float
    resume: bool = False  # run again: go on from the order database (order_saga `_resume`)
    stock_requested: bool = False  # the reservation went out when the order was placed
    stock_resend_seconds: float | None = None  # then: sent again if no reply by this
    daily_limit: str | None = None  # saga v2: checked before payment (workflows/limits.py)

    @model_validator(mode="after")
    def _resend_with_request(self) -> Self:
        if self.stock_requested and self.stock_resend_seconds is None:
            raise ValueError("stockRequested needs stockResendSeconds")
        return self


class ProgressUpdate(SnakeCaseModel):
    """record_progress's input: one step written to the order database."""

    order: SagaInput
    order_status: OrderStatus | None = None
    saga_status: SagaStatus | None = None
    completed: str | None = None
    compensated: list[str] | None = None
    failure_reason: str | None = None

    def changes(self) -> dict[str, Any]:
        """The step, as `SagaRecords.record_progress` takes it: only what was given."""
        return {k: getattr(self, k) for k in self.model_fields_set - {"order"}}


class SagaEnding(SnakeCaseModel):
    """finish_cancelled's input: how the saga ended and what it undid."""

    order: SagaInput
    saga_status: SagaStatus
    reason: str | None = None
    compensated: list[str] = []


class PaymentStatus(StrEnum):
    CHARGED = "CHARGED"
    DECLINED = "DECLINED"
    CANCELLED = "CANCELLED"  # a cancel came first: nothing charged
    REFUNDED = "REFUNDED"
    UNAVAILABLE = "UNAVAILABLE"  # payment-service could not answer now


class PaymentResult(SagaModel):
    """take_payment's and refund_payment's answer: payment-service's, and once charged whether
    a cancel had been requested and whether the order is confirmed (absent in histories from
    before take_payment confirmed)."""

    status: PaymentStatus
    reason: str | None = None
    cancel_requested: bool | None = None
    confirmed: bool | None = None


class StockOutcome(SagaModel):
    """The stock reply the saga waits for (inventory's stock-replies message, its data)."""

    reserved: bool
    reason: str | None = None


class LimitVerdict(SagaModel):
    """check_limit's answer (workflows/limits.py)."""

    allowed: bool
    reason: str | None = None


class SagaState(SagaModel):
    """load_saga's answer: what a resumed saga goes on from."""

    status: SagaStatus
    completed_steps: list[str]
    cancel_requested: bool
    failure_reason: str | None = None
