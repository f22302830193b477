"""The settings classes: read from a given environment alone, validated, and listed whole in
docs/configuration.md."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from apps.common.settings import Settings
from apps.common.topology import RUN_FILE, app_ports
from apps.gateway.settings import GatewaySettings
from apps.order_service.settings import OrderServiceSettings
from deploy.stack.runfile import load_runfile

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


def test_app_ports_come_from_dapr_yaml_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_PORT", raising=False)
    runfile = {app.app_id: app.app_port for app in load_runfile(RUN_FILE, "sqlite")}
    assert app_ports() == runfile and len(runfile) == 5
    ops = GatewaySettings.from_env({"APP_PORT": "18080"}).ops()
    assert ops.app_urls == {
        **{app: f"http://127.0.0.1:{port}" for app, port in runfile.items()},
        "gateway": "http://127.0.0.1:18080",  # where it listens: GATEWAY_PORT moves it
    }


def test_without_dapr_yaml_the_console_knows_only_what_it_is_told(tmp_path: Path) -> None:
    assert app_ports(tmp_path / "dapr.yaml") == {}
    (tmp_path / "dapr.yaml").write_text("apps:\n  - appID: gateway\n")
    with pytest.raises(ValueError, match="appPort"):
        app_ports(tmp_path / "dapr.yaml")
    told = GatewaySettings.from_env({"OPS_APP_URLS": "order-service=http://orders:8001/"})
    assert told.ops().app_urls["order-service"] == "http://orders:8001"
