"""order-service's settings: the common ones and the saga's timeouts, admission and daily
limit. Built once by create(); the table of every variable is docs/configuration.md."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, PositiveFloat, PositiveInt, field_validator

from apps.common.settings import Settings
from apps.order_service.admission import AdmissionSettings
from apps.order_service.sagas import SagaTimeouts
from workflows.limits import LIMIT_ENV, daily_limit
from workflows.order_saga import latest_version
from workflows.steps import LATEST_VERSION_ENV


class OrderServiceSettings(Settings):
    stock_reply_timeout_seconds: PositiveFloat = 30.0
    stock_resend_seconds: PositiveFloat = 5.0  # no stock reply by then: the command again
    payment_deadline_seconds: PositiveFloat = 20.0
    max_sagas_in_flight: PositiveInt = 200
    admission_retry_after_seconds: PositiveInt = 1
    # Set: the admission bound adapts to the sagas' latency (apps/order_service/limit.py).
    saga_latency_target_seconds: float | None = Field(default=None, gt=0, lt=3600)
    # Set: saga v2 declines an order that takes the customer's last 24 h past it (whole cents).
    order_daily_limit: Decimal | None = None
    # The version new sagas start as (docs/upgrade.md); blank: the newest.
    saga_latest_version: str = ""

    @field_validator("saga_latest_version")
    @classmethod
    def _latest_version(cls, raw: str) -> str:
        return latest_version({LATEST_VERSION_ENV: raw})  # ValueError names the versions

    @field_validator("order_daily_limit", mode="before")
    @classmethod
    def _daily_limit(cls, raw: object) -> object:
        # workflows/limits.py parses it: a positive amount in whole cents, blank for none.
        return daily_limit({LIMIT_ENV: raw}) if isinstance(raw, str) else raw

    def saga_timeouts(self) -> SagaTimeouts:
        return SagaTimeouts(
            stock_reply_seconds=self.stock_reply_timeout_seconds,
            stock_resend_seconds=self.stock_resend_seconds,
            payment_deadline_seconds=self.payment_deadline_seconds,
        )

    def admission(self) -> AdmissionSettings:
        return AdmissionSettings(
            max_in_flight=self.max_sagas_in_flight,
            retry_after_seconds=self.admission_retry_after_seconds,
            latency_target_seconds=self.saga_latency_target_seconds,
        )
