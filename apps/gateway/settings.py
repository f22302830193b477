"""The gateway's own settings (tokens and rate limits), read from the environment when the app is
created, never at import. Defaults suit the local stack: the development key pair that
deploy/setup/devkeys.sh keeps in the set-up cache, outside the repository."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEV_ISSUER = "order-platform-dev"
DEV_AUDIENCE = "order-platform-api"


def cache_dir(env: Mapping[str, str]) -> Path:
    """The set-up cache (deploy/setup/lib.sh's CACHE_DIR), computed the same way."""
    if env.get("ORDER_PLATFORM_CACHE"):
        return Path(env["ORDER_PLATFORM_CACHE"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "order-platform"


def dev_key_dir(env: Mapping[str, str]) -> Path:
    return cache_dir(env) / "dev-keys"


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    public_key_file: Path
    private_key_file: Path  # only the development token command signs; the gateway never does

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSettings:
        env = os.environ if env is None else env
        keys = dev_key_dir(env)
        return cls(
            issuer=env.get("AUTH_ISSUER") or DEV_ISSUER,
            audience=env.get("AUTH_AUDIENCE") or DEV_AUDIENCE,
            public_key_file=Path(env.get("AUTH_PUBLIC_KEY_FILE") or keys / "jwt-es256.pub"),
            private_key_file=Path(env.get("AUTH_PRIVATE_KEY_FILE") or keys / "jwt-es256.key"),
        )


@dataclass(frozen=True)
class RateLimitSettings:
    per_second: float  # tokens a client's bucket regains per second
    burst: int  # the bucket's size: requests a rested client may send at once
    max_clients: int  # buckets kept; the least recently used is dropped beyond it

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RateLimitSettings:
        env = os.environ if env is None else env
        settings = cls(
            per_second=float(env.get("RATE_LIMIT_PER_SECOND") or 100),
            burst=int(env.get("RATE_LIMIT_BURST") or 200),
            max_clients=int(env.get("RATE_LIMIT_MAX_CLIENTS") or 10_000),
        )
        if not (settings.per_second > 0 and settings.burst >= 1 and settings.max_clients >= 1):
            raise ValueError(f"rate limit settings out of range: {settings}")
        return settings


REPO_ROOT = Path(__file__).resolve().parents[2]
APP_PORTS = {  # dapr.yaml's appPort of each app (GATEWAY_PORT moves the gateway)
    "gateway": 8080,
    "order-service": 8001,
    "inventory-service": 8002,
    "payment-service": 8003,
    "notification-service": 8004,
}


@dataclass(frozen=True)
class OpsSettings:
    """Where the console's health and log views read from: the apps' open /readyz and /metrics
    (what the runner and Prometheus read), order-service's sidecar metrics (the circuit
    breaker), the run's log directory, and the Zipkin UI the console links to."""

    app_urls: dict[str, str]
    breaker_metrics_url: str
    lag_metrics_url: str  # the lag exporter's /metrics (deploy/lag_exporter.py)
    log_dir: Path
    zipkin_ui: str
    sample_seconds: float  # how often the saga metrics are sampled; 0: never

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OpsSettings:
        env = os.environ if env is None else env
        ports = {**APP_PORTS, "gateway": int(env.get("GATEWAY_PORT") or APP_PORTS["gateway"])}
        urls = {app: f"http://127.0.0.1:{port}" for app, port in ports.items()}
        for pair in filter(None, (env.get("OPS_APP_URLS") or "").split(",")):
            app, _, url = pair.partition("=")
            urls[app.strip()] = url.strip().rstrip("/")
        return cls(
            app_urls=urls,
            breaker_metrics_url=env.get("OPS_BREAKER_METRICS_URL")
            or "http://127.0.0.1:9191/metrics",
            lag_metrics_url=env.get("OPS_LAG_METRICS_URL") or "http://127.0.0.1:9308/metrics",
            log_dir=Path(env.get("OPS_LOG_DIR") or REPO_ROOT / ".run" / "logs"),
            zipkin_ui=(env.get("ZIPKIN_UI_URL") or "http://127.0.0.1:9411/zipkin").rstrip("/"),
            sample_seconds=float(env.get("OPS_SAMPLE_SECONDS") or 10),
        )
