"""What every app reads from its environment (the stack runner's, dapr.yaml's or the pod's):
one pydantic-settings class, each variable named and defaulted here once. Each app's own class
extends it (apps/order_service/settings.py, apps/gateway/settings.py); the table of every
variable is docs/configuration.md. Built by the app's create(), never at import."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Self

from pydantic import Field, PositiveFloat, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    # Variable names are the fields' names in upper case (APP_ID, DAPR_HTTP_PORT, ...); an
    # empty variable counts as unset, as it always has.
    model_config = SettingsConfigDict(frozen=True, extra="ignore", env_ignore_empty=True)

    app_id: str = "app"
    app_host: str = "127.0.0.1"
    app_port: int = 8000
    app_reuse_port: bool = False  # SO_REUSEPORT: a new process takes over beside the old one
    dapr_http_port: int = 3500
    dapr_grpc_port: int = 50001
    # Unset: SQLite at DATA_DIR/DB_NAME.db (DB_NAME: the app id), see `database`.
    database_url: str | None = None
    data_dir: str = ".run/data"
    db_name: str | None = None
    # PostgreSQL's pool per app: 10 + 10; with REPLICAS the stack runner sizes them so every
    # instance fits max_connections (deploy/stack/replicas.py).
    db_pool_size: PositiveInt = 10
    db_max_overflow: int = Field(default=10, ge=0)
    pubsub_name: str = "orderpubsub"
    kafka_brokers: str = "127.0.0.1:9092"
    zipkin_url: str | None = None
    max_body_bytes: PositiveInt = 256 * 1024
    namespace: str = "default"  # Dapr's NAMESPACE: `default` on one machine, the pod's in k8s
    # A drain (apps/common/drain.py): the least it lasts, the quiet that ends it, the most.
    drain_least_seconds: PositiveFloat = 2.0
    drain_quiet_seconds: PositiveFloat = 1.0
    drain_most_seconds: PositiveFloat = 15.0
    # The stack runner gives each app two tokens (deploy/stack/secrets.py); never in a repr.
    dapr_api_token: str | None = Field(default=None, repr=False)  # its sidecar wants this one
    app_api_token: str | None = Field(default=None, repr=False)  # its sidecar sends this one

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"

    @property
    def database(self) -> str:
        """DATABASE_URL, or the app's SQLite file under DATA_DIR."""
        return self.database_url or f"sqlite:///{self.data_dir}/{self.db_name or self.app_id}.db"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        """The settings of `env` alone (a test's, a tool's), or of the process environment."""
        if env is None:
            return cls()
        values: dict[str, Any] = {k.lower(): v for k, v in env.items() if v != ""}
        return cls.model_validate(values)


@lru_cache
def get_settings() -> Settings:
    """The process's common settings, read once: the first call is the app's create()."""
    return Settings()
