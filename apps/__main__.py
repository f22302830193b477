"""`python -m apps <app-id>`: serve one app on 127.0.0.1:$APP_PORT (set by the runner or dapr).
APP_HOST moves the address: in a Kubernetes pod the kubelet's probes and the Service reach the
app on the pod's address (deploy/k8s sets 0.0.0.0); on one machine the loopback is the default."""

import os
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

if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] not in MODULES:
        sys.exit(f"usage: python -m apps {{{','.join(MODULES)}}}")
    app_id = sys.argv[1]
    os.environ.setdefault("APP_ID", app_id)  # what the app's own settings will read
    settings = Settings()
    if "app_port" not in settings.model_fields_set:
        sys.exit("APP_PORT is not set")
    uvicorn.run(
        MODULES[app_id],
        host=settings.app_host,
        port=settings.app_port,
        log_config=None,
        access_log=False,
        # Longer than the idle timeout of daprd's HTTP client to the app (Go's default, 90 s),
        # so daprd always closes an idle connection first. With uvicorn's default (5 s), daprd
        # could send a request on a connection uvicorn was closing; for a POST (Go retries only
        # idempotent requests on a reused connection) the sidecar then answers 500.
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        factory=MODULES[app_id].endswith(":create"),  # builds the app at start-up, not import
    )
