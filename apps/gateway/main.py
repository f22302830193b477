"""gateway: the public HTTP API; it owns no data and forwards through Dapr."""

from apps.common.app import create_app
from apps.gateway.routes import router, sidecar_ready

app = create_app("gateway", routers=[router], readiness={"sidecar": sidecar_ready})
