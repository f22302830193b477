"""Process settings, read once from the environment the stack runner (or dapr.yaml) provides."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


@dataclass(frozen=True)
class Settings:
    app_id: str
    app_port: int
    dapr_http_port: int
    dapr_grpc_port: int
    database_url: str
    pubsub_name: str
    zipkin_url: str | None
    max_body_bytes: int
    namespace: str  # Dapr's NAMESPACE: `default` on one machine, the pod's in Kubernetes
    # The stack runner gives each app two tokens (deploy/stack/secrets.py); never in a repr.
    dapr_api_token: str | None = field(default=None, repr=False)  # its sidecar wants this one
    app_api_token: str | None = field(default=None, repr=False)  # its sidecar sends this one

    @property
    def dapr_url(self) -> str:
        return f"http://127.0.0.1:{self.dapr_http_port}"


@lru_cache
def get_settings() -> Settings:
    env = os.environ
    app_id = env.get("APP_ID", "app")
    return Settings(
        app_id=app_id,
        app_port=int(env.get("APP_PORT", "8000")),
        dapr_http_port=int(env.get("DAPR_HTTP_PORT", "3500")),
        dapr_grpc_port=int(env.get("DAPR_GRPC_PORT", "50001")),
        database_url=env.get("DATABASE_URL")
        or f"sqlite:///{env.get('DATA_DIR', '.run/data')}/{env.get('DB_NAME', app_id)}.db",
        pubsub_name=env.get("PUBSUB_NAME", "orderpubsub"),
        zipkin_url=env.get("ZIPKIN_URL") or None,
        max_body_bytes=int(env.get("MAX_BODY_BYTES", str(256 * 1024))),
        namespace=env.get("NAMESPACE", "default"),
        dapr_api_token=env.get("DAPR_API_TOKEN") or None,
        app_api_token=env.get("APP_API_TOKEN") or None,
    )
