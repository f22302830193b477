"""The gateway's settings: the common ones and its own (tokens, rate limits, the console's
sources), read once when the app is created, never at import; every variable is in
docs/configuration.md. Defaults suit the local stack: the development key pair that
deploy/setup/devkeys.sh keeps in the set-up cache, outside the repository."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field as SettingsField
from pydantic import PositiveFloat, PositiveInt

from apps.common.settings import Settings
from apps.common.topology import app_ports

DEV_ISSUER = "order-platform-dev"
DEV_AUDIENCE = "order-platform-api"
REPO_ROOT = Path(__file__).resolve().parents[2]


class GatewaySettings(Settings):
    auth_issuer: str = DEV_ISSUER
    auth_audience: str = DEV_AUDIENCE
    auth_public_key_file: Path | None = None  # unset: the development key in the set-up cache
    auth_private_key_file: Path | None = None  # only `make token` signs; the gateway never does
    order_platform_cache: Path | None = None  # deploy/setup/lib.sh's CACHE_DIR, same rule
    xdg_cache_home: Path | None = None
    rate_limit_per_second: PositiveFloat = SettingsField(default=100, allow_inf_nan=False)
    rate_limit_burst: PositiveInt = 200
    rate_limit_max_clients: PositiveInt = 10_000
    ops_app_urls: str = ""  # app=url,...: where the console reads an app's /readyz, /metrics
    ops_breaker_metrics_url: str = "http://127.0.0.1:9191/metrics"
    ops_lag_metrics_url: str = "http://127.0.0.1:9308/metrics"  # deploy/lag_exporter.py
    ops_log_dir: Path = REPO_ROOT / ".run" / "logs"
    zipkin_ui_url: str = "http://127.0.0.1:9411/zipkin"
    ops_sample_seconds: float = SettingsField(default=10, ge=0)  # 0: never sampled

    @property
    def cache_dir(self) -> Path:
        if self.order_platform_cache:
            return self.order_platform_cache
        return (self.xdg_cache_home or Path.home() / ".cache") / "order-platform"

    def tokens(self) -> TokenSettings:
        keys = self.cache_dir / "dev-keys"
        return TokenSettings(
            issuer=self.auth_issuer,
            audience=self.auth_audience,
            public_key_file=self.auth_public_key_file or keys / "jwt-es256.pub",
            private_key_file=self.auth_private_key_file or keys / "jwt-es256.key",
        )

    def limits(self) -> RateLimitSettings:
        return RateLimitSettings(
            self.rate_limit_per_second, self.rate_limit_burst, self.rate_limit_max_clients
        )

    def ops(self) -> OpsSettings:
        """Each app's address: dapr.yaml's port on the loopback (the gateway's own: the port
        it listens on, APP_PORT), unless OPS_APP_URLS names another (a pod has no dapr.yaml:
        apps/common/topology.py)."""
        ports = {**app_ports(), "gateway": self.app_port}
        urls = {app: f"http://127.0.0.1:{port}" for app, port in ports.items()}
        for pair in filter(None, self.ops_app_urls.split(",")):
            app, _, url = pair.partition("=")
            urls[app.strip()] = url.strip().rstrip("/")
        return OpsSettings(
            app_urls=urls,
            breaker_metrics_url=self.ops_breaker_metrics_url,
            lag_metrics_url=self.ops_lag_metrics_url,
            log_dir=self.ops_log_dir,
            zipkin_ui=self.zipkin_ui_url.rstrip("/"),
            sample_seconds=self.ops_sample_seconds,
        )


@dataclass(frozen=True)
class TokenSettings:
    issuer: str
    audience: str
    public_key_file: Path
    private_key_file: Path  # only the development token command signs; the gateway never does

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TokenSettings:
        return GatewaySettings.from_env(env).tokens()


@dataclass(frozen=True)
class RateLimitSettings:
    per_second: float  # tokens a client's bucket regains per second
    burst: int  # the bucket's size: requests a rested client may send at once
    max_clients: int  # buckets kept; the least recently used is dropped beyond it

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RateLimitSettings:
        return GatewaySettings.from_env(env).limits()


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
        return GatewaySettings.from_env(env).ops()
