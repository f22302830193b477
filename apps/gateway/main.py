"""gateway: the public HTTP API; it owns no data and forwards through Dapr."""

from apps.common.app import create_app
from apps.common.dapr import DaprClient
from apps.gateway.openapi import install_openapi
from apps.gateway.routes import router

app = create_app("gateway", routers=[router], readiness={"sidecar": DaprClient().sidecar_ready})
install_openapi(app)
