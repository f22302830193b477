"""`python -m apps <app-id>`: serve one app on 127.0.0.1:$APP_PORT (set by the runner or dapr).
APP_HOST moves the address: in a Kubernetes pod the kubelet's probes and the Service reach the
app on the pod's address (deploy/k8s sets 0.0.0.0); on one machine the loopback is the default.

APP_REUSE_PORT=1 (the gateway in dapr.yaml) binds the port with SO_REUSEPORT, so a new process
of the app can listen on the same port beside the running one and take over without a refused
connection (deploy/stack/restart.py, docs/upgrade.md). The socket is bound here and listens only
once the app has started (uvicorn's startup), so no connection waits on an app not yet ready."""

import os
import socket
import sys

import uvicorn

from apps.common.settings import Settings

MODULES = {
    "gateway": "apps.gateway.main:create",
    "order-service": "apps.order_service.main:create",
    "inventory-service": "apps.inventory_service.main:create",
    "payment-service": "apps.payment_service.main:create",
    "notification-service": "apps.notification_service.main:create",
}

KEEP_ALIVE_SECONDS = 120


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT, not listening yet (asyncio listens on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not the default 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets
    # that say they are TCP; without it every answer waited ~40 ms for a delayed ACK (23 req/s).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except (AttributeError, OSError) as exc:
        sock.close()
        sys.exit(f"APP_REUSE_PORT=1: cannot bind {host}:{port} with SO_REUSEPORT: {exc}")
    sock.set_inheritable(False)
    return sock


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in MODULES:
        sys.exit(f"usage: python -m apps {{{','.join(MODULES)}}}")
    app_id = sys.argv[1]
    os.environ.setdefault("APP_ID", app_id)  # what the app's own settings will read
    settings = Settings()
    if "app_port" not in settings.model_fields_set:
        sys.exit("APP_PORT is not set")
    host, port = settings.app_host, settings.app_port
    config = uvicorn.Config(
        MODULES[app_id],
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        # Longer than the idle timeout of daprd's HTTP client to the app (Go's default, 90 s),
        # so daprd always closes an idle connection first. With uvicorn's default (5 s), daprd
        # could send a request on a connection uvicorn was closing; for a POST (Go retries only
        # idempotent requests on a reused connection) the sidecar then answers 500.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        factory=MODULES[app_id].endswith(":create"),  # builds the app at start-up, not import
    )
    sockets = [reuse_port_socket(host, port)] if settings.app_reuse_port else None
    server = uvicorn.Server(config)
    server.run(sockets=sockets)
    if not server.started:
        sys.exit(3)  # as uvicorn.run: the app did not start
