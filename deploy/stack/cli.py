"""`make infra`: only the infrastructure and the Dapr control plane, for apps and sidecars that
the real dapr CLI starts (`dapr run --log-as-json -f dapr.yaml`). README "Running the apps with
the dapr CLI" says what a CLI run keeps of the stack's security and what it loses.

What the CLI (v1.18) imposes, and how this answers it:
- A sidecar whose Configuration says `spec.mtls.enabled: true` (dapr/<app-id>.yaml) gets
  `--enable-mtls --sentry-address localhost:50001`, a fixed address: Sentry listens there, not
  on the stack's 20001.
- Every daprd inherits the CLI's environment (dapr.yaml's `env` reaches only the apps), so the
  sidecars cannot each show an identity token of their own: Sentry runs with its insecure
  validator, and the tokens (DAPR_API_TOKEN, APP_API_TOKEN) are one pair shared by all apps.
- daprd reads its trust anchors from DAPR_TRUST_ANCHORS: known once Sentry has made its CA.
Everything the shell running the CLI needs is written to RUN_DIR/secrets/cli.env to `source`.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import yaml

from deploy.stack.identity import NAMESPACE
from deploy.stack.infra import infra_services
from deploy.stack.paths import CACHE_DIR, ROOT, RUN_DIR
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST, Service
from deploy.stack.secrets import SECRETS_DIR, Tokens, write_private
from deploy.stack.sentry import sentry_service
from deploy.stack.services import SECRET_ENV_PREFIX, control_plane

CLI_SENTRY_PORT = 50001  # the CLI's fixed localhost:50001 (inside the ephemeral port range)
CLI_SENTRY_ADDRESS = f"127.0.0.1:{CLI_SENTRY_PORT}"
# PROFILE=postgres: the run file to give the CLI instead of dapr.yaml (postgres_runfile).
POSTGRES_RUNFILE = RUN_DIR / "cli" / "dapr.postgres.yaml"
CLI_ENV_FILE = SECRETS_DIR / "cli.env"  # 0600 in a 0700 directory; deleted by `make down`


def infra_phases(profile: str) -> list[list[Service]]:
    """What `make infra` starts, phase by phase: Kafka, Zipkin (and PostgreSQL), then Sentry,
    then placement and scheduler; no app and no sidecar."""
    return [
        infra_services(profile, RUN_DIR, CACHE_DIR, False),
        [sentry_service(port=CLI_SENTRY_PORT, validate_tokens=False)],
        control_plane(sentry_address=CLI_SENTRY_ADDRESS, tokens=False),
    ]


def postgres_runfile(source: Path = ROOT / "dapr.yaml") -> str:
    """dapr.yaml for PROFILE=postgres under the CLI, which knows no profiles: components/postgres
    instead of components/sqlite, and each app's DATABASE_URL without its password (libpq reads
    PGPASSWORD, exported by cli.env). Every path is made absolute, so the file can live in
    RUN_DIR; appDirPath stays the repository, so the logs stay in its .dapr/logs."""
    doc = yaml.safe_load(source.read_text())
    base = source.parent
    common = doc["common"]
    common["resourcesPaths"] = [
        str(
            (base / p).resolve().with_name("postgres")
            if Path(p).name == "sqlite"
            else (base / p).resolve()
        )
        for p in common["resourcesPaths"]
    ]
    for app in doc["apps"]:
        app_dir = (base / app["appDirPath"]).resolve()
        app["appDirPath"] = str(app_dir)
        app["configFilePath"] = str((app_dir / app["configFilePath"]).resolve())
        if db := app.get("env", {}).get("DB_NAME"):
            app["env"]["DATABASE_URL"] = f"postgresql://postgres@{HOST}:{POSTGRES_PORT}/{db}"
    header = (
        f"# Written by `PROFILE=postgres make infra` (deploy/stack/cli.py) from {source.name}:\n"
        "# `dapr run --log-as-json -f` this file for the postgres profile. Do not edit.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False)


def cli_env(
    tokens: Tokens,
    trust_anchors: str,
    statestore_connection: str | None,
    postgres_password: str | None = None,
) -> str:
    """The text of cli.env: `export` lines for the shell that runs `dapr run -f dapr.yaml`."""
    values = {
        "DAPR_API_TOKEN": tokens.dapr,  # every sidecar requires it; every app sends it
        "APP_API_TOKEN": tokens.app
        or "",  # every sidecar sends it; the apps but the gateway check it
        "DAPR_TRUST_ANCHORS": trust_anchors,  # Sentry's CA, PEM
        "NAMESPACE": NAMESPACE,  # the namespace of the SPIFFE IDs in dapr/<app-id>.yaml
    }
    if statestore_connection:  # PROFILE=postgres: the workflow state store's secret
        values[f"{SECRET_ENV_PREFIX}STATESTORE_CONNECTION"] = statestore_connection
    if postgres_password:  # PROFILE=postgres: the apps' (libpq reads it)
        values["PGPASSWORD"] = postgres_password
    lines = [
        "# Written by `make infra` (deploy/stack/cli.py) for `dapr run -f dapr.yaml`: source",
        "# it in the shell that runs the CLI. Secrets of this run: never commit or share them.",
        "unset DAPR_SENTRY_TOKEN_FILE  # the insecure Sentry refuses a token it cannot validate",
        *(f"export {name}={shlex.quote(value)}" for name, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


def write_cli_env(text: str, path: Path = CLI_ENV_FILE) -> Path:
    write_private(path, text)
    return path
