"""Secrets of one run of the stack, each in a 0600 file under RUN_DIR/secrets (never committed:
.run/ is ignored; never printed or logged):

- tokens.json: per app, the token its sidecar requires on every call (`dapr`, the sidecar's
  DAPR_API_TOKEN) and the token its sidecar sends on every call to the app (`app`, the app's
  APP_API_TOKEN). New ones at every `up`; a process restarted during the run gets the same.
- postgres-password: the PostgreSQL superuser's password, one per data directory (see
  deploy/stack/postgres.py).

Tests and tools that call a sidecar or an app directly read the tokens here (`dapr_headers`,
`app_headers`): they act as an operator of the run.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.paths import RUN_DIR

SECRETS_DIR = RUN_DIR / "secrets"
TOKENS_FILE = SECRETS_DIR / "tokens.json"
POSTGRES_PASSWORD_FILE = SECRETS_DIR / "postgres-password"
TOKEN_HEADER = "dapr-api-token"  # what daprd checks, and sends to the app
# The public entry point: clients call it directly, authenticated by their own bearer token, so
# it has no app token (its sidecar calls it only for probes and its configuration).
PUBLIC_APPS = frozenset({"gateway"})


@dataclass(frozen=True)
class Tokens:
    """One app's tokens; its repr shows neither (a token must never reach a log line)."""

    dapr: str
    app: str | None  # None for a public app

    def __repr__(self) -> str:
        return "Tokens(<hidden>)"


def write_private(path: Path, text: str) -> None:
    """Writes `text` to `path`, readable by its owner only (0600, directory 0700), atomically:
    the file is created 0600 from the start, never widened afterwards."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    partial.replace(path)


def new_token() -> str:
    return secrets.token_urlsafe(32)  # 256 bits; letters, digits, - and _: safe in any header


def new_tokens(app_ids: list[str], shared: bool = False) -> dict[str, Tokens]:
    """shared: one sidecar token and one app token for every app (`make infra`: the dapr CLI's
    sidecars all inherit its environment, so they cannot each have their own)."""
    one_dapr, one_app = new_token(), new_token()
    tokens = {
        app_id: Tokens(
            dapr=one_dapr if shared else new_token(),
            app=None if app_id in PUBLIC_APPS else (one_app if shared else new_token()),
        )
        for app_id in app_ids
    }
    doc = {app_id: {"dapr": t.dapr, "app": t.app} for app_id, t in tokens.items()}
    write_private(TOKENS_FILE, json.dumps(doc, indent=1) + "\n")
    return tokens


def load_tokens() -> dict[str, Tokens]:
    try:
        doc = json.loads(TOKENS_FILE.read_text())
    except FileNotFoundError:
        raise RuntimeError(f"no tokens in {TOKENS_FILE}: is the stack up (`make up`)?") from None
    return {app_id: Tokens(dapr=t["dapr"], app=t.get("app")) for app_id, t in doc.items()}


def dapr_headers(app_id: str) -> dict[str, str]:
    """Headers that let a call through `app_id`'s sidecar."""
    return {TOKEN_HEADER: load_tokens()[app_id].dapr}


def app_headers(app_id: str) -> dict[str, str]:
    """Headers that let a call straight to the app `app_id` through (none for a public app)."""
    token = load_tokens()[app_id].app
    return {TOKEN_HEADER: token} if token else {}


def postgres_password() -> str:
    """The PostgreSQL superuser's password, made on first use. deploy/stack/postgres.py gives it
    to the data directory (initdb, or an older directory's migration) before the server starts."""
    try:
        return POSTGRES_PASSWORD_FILE.read_text().strip()
    except FileNotFoundError:
        password = new_token()
        write_private(POSTGRES_PASSWORD_FILE, password + "\n")
        return password


def forget_tokens() -> None:
    """At `down`: a stopped run's tokens are of no further use."""
    TOKENS_FILE.unlink(missing_ok=True)
