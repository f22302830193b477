"""notification-service: tells customers about confirmed and cancelled orders."""

from apps.common.app import create_app
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.pubsub import subscription_router
from apps.common.settings import get_settings
from apps.notification_service.routes import api_router, subscriptions

db = Database(get_settings().database_url)
db.create_tables()
dapr = DaprClient()

app = create_app(
    "notification-service",
    routers=[api_router(db), subscription_router(subscriptions(db))],
    readiness={"database": lambda: db.ping() is None, "sidecar": dapr.sidecar_ready},
)
