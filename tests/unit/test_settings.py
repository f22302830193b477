"""The settings classes: read from a given environment alone, validated, and listed whole in
docs/configuration.md."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from apps.common.settings import Settings
from apps.gateway.settings import GatewaySettings
from apps.order_service.settings import OrderServiceSettings

TABLE = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_table_lists_exactly_the_variables_the_classes_read() -> None:
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", TABLE.read_text(), re.M))
    read = {
        name.upper()
        for cls in (Settings, OrderServiceSettings, GatewaySettings)
        for name in cls.model_fields
    }
    assert documented == read


def test_a_given_environment_is_read_alone_and_blank_means_unset() -> None:
    settings = OrderServiceSettings.from_env(
        {"APP_ID": "order-service", "STOCK_RESEND_SECONDS": "2", "ORDER_DAILY_LIMIT": ""}
    )
    assert (settings.app_id, settings.stock_resend_seconds) == ("order-service", 2.0)
    assert settings.order_daily_limit is None
    assert settings.database == "sqlite:///.run/data/order-service.db"
    limited = OrderServiceSettings.from_env({"ORDER_DAILY_LIMIT": "2500.50"})
    assert limited.order_daily_limit == Decimal("2500.50")


@pytest.mark.parametrize(
    "env",
    [
        {"PAYMENT_DEADLINE_SECONDS": "0"},
        {"DB_POOL_SIZE": "many"},
        {"ORDER_DAILY_LIMIT": "0.001"},
        {"SAGA_LATENCY_TARGET_SECONDS": "-1"},
    ],
)
def test_a_value_out_of_range_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as error:
        OrderServiceSettings.from_env(env)
    assert next(iter(env)).lower() in str(error.value)


def test_tokens_stay_out_of_the_repr() -> None:
    settings = Settings.from_env({"DAPR_API_TOKEN": "secret-a", "APP_API_TOKEN": "secret-b"})
    assert "secret" not in repr(settings)
    assert settings.dapr_api_token == "secret-a"
