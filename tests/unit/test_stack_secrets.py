"""deploy/stack/secrets.py and what the runner hands each process: per-run tokens in 0600 files,
never in a repr; each sidecar and app gets its own; PostgreSQL credentials only from the
environment; pg_hba.conf recognised as password-only or not."""

from __future__ import annotations

import stat
from urllib.parse import unquote, urlsplit

import pytest
import yaml

from deploy.stack import secrets
from deploy.stack.paths import ROOT
from deploy.stack.postgres import PG_HBA, password_only
from deploy.stack.runfile import load_runfile
from deploy.stack.services import app_and_sidecar

APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]


@pytest.fixture
def run_secrets(tmp_path, monkeypatch):
    monkeypatch.setattr(secrets, "TOKENS_FILE", tmp_path / "secrets" / "tokens.json")
    monkeypatch.setattr(secrets, "POSTGRES_PASSWORD_FILE", tmp_path / "secrets" / "pg")
    return tmp_path / "secrets"


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_tokens_are_new_each_run_distinct_and_private(run_secrets):
    first = secrets.new_tokens(APPS)
    assert mode(secrets.TOKENS_FILE) == 0o600 and mode(run_secrets) == 0o700
    assert secrets.load_tokens() == first
    values = [t.dapr for t in first.values()] + [t.app for t in first.values() if t.app]
    assert len(set(values)) == len(values) == 9 and all(len(v) >= 43 for v in values)
    assert first["gateway"].app is None  # the public entry point has no app token
    second = secrets.new_tokens(APPS)
    assert all(second[a].dapr != first[a].dapr for a in APPS)
    assert mode(secrets.TOKENS_FILE) == 0o600


def test_no_repr_shows_a_token(run_secrets):
    tokens = secrets.new_tokens(APPS)["payment-service"]
    assert tokens.dapr not in repr(tokens) and tokens.app not in repr(tokens)
    assert tokens.dapr not in str({"t": tokens})


def test_headers_for_operators_and_tests(run_secrets):
    tokens = secrets.new_tokens(APPS)
    assert secrets.dapr_headers("order-service") == {"dapr-api-token": tokens["order-service"].dapr}
    assert secrets.app_headers("inventory-service") == {
        "dapr-api-token": tokens["inventory-service"].app
    }
    assert secrets.app_headers("gateway") == {}
    secrets.forget_tokens()
    with pytest.raises(RuntimeError, match="is the stack up"):
        secrets.load_tokens()


def test_each_sidecar_and_app_gets_its_own_tokens(run_secrets):
    tokens = secrets.new_tokens(APPS)
    for spec in load_runfile(ROOT / "dapr.yaml", "sqlite"):
        app, sidecar = app_and_sidecar(spec, "sqlite")
        mine = tokens[spec.app_id]
        assert app.env["DAPR_API_TOKEN"] == sidecar.env["DAPR_API_TOKEN"] == mine.dapr
        assert app.env["APP_API_TOKEN"] == sidecar.env["APP_API_TOKEN"] == (mine.app or "")
        assert all(mine.dapr not in arg for arg in sidecar.argv + app.argv)


def test_postgres_credentials_come_from_the_environment(run_secrets):
    secrets.new_tokens(APPS)
    password = secrets.postgres_password()
    assert mode(secrets.POSTGRES_PASSWORD_FILE) == 0o600
    assert secrets.postgres_password() == password  # one per data directory, kept
    for spec in load_runfile(ROOT / "dapr.yaml", "postgres"):
        app, sidecar = app_and_sidecar(spec, "postgres")
        if spec.env.get("DB_NAME"):
            url = urlsplit(app.env["DATABASE_URL"])
            assert (url.username, unquote(url.password or "")) == ("postgres", password)
        state = sidecar.env["ORDER_PLATFORM_SECRET_STATESTORE_CONNECTION"]
        assert f"password={password} " in state and "dbname=dapr_state" in state
        assert all(password not in arg for arg in sidecar.argv + app.argv)
    store = yaml.safe_load((ROOT / "components/postgres/statestore.yaml").read_text())
    [connection] = [m for m in store["spec"]["metadata"] if m["name"] == "connectionString"]
    assert "value" not in connection and connection["secretKeyRef"]["name"]
    assert store["auth"]["secretStore"] == "envsecrets"


@pytest.mark.parametrize(
    "hba, only",
    [
        (PG_HBA, True),
        ("local all all trust\nhost all all 127.0.0.1/32 trust\n", False),
        ("host all all 127.0.0.1/32 scram-sha-256\nlocal all all peer\n", False),
        ("host all all 127.0.0.1/32 md5\n", False),
        ("# only comments\n\n", False),
    ],
)
def test_pg_hba_is_recognised(hba, only):
    assert password_only(hba) is only
