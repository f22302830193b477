"""notification-service: tells customers about confirmed and cancelled orders, and keeps the
platform's dead letters for an operator to inspect and redrive."""

from fastapi import FastAPI

from apps.common.app import create_app
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.health import SubscriptionCheck
from apps.common.pubsub import subscription_router
from apps.common.settings import get_settings
from apps.notification_service.routes import api_router, subscriptions
from apps.notification_service.store import create_tables


def create() -> FastAPI:
    """The app, built at start-up (uvicorn factory): importing this module opens nothing."""
    settings = get_settings()
    db = Database(settings.database, settings)
    create_tables(db)
    dapr = DaprClient()
    subs = subscriptions(db)
    subscriptions_consumed = SubscriptionCheck(dapr, [s.topic for s in subs])
    return create_app(
        "notification-service",
        routers=[api_router(db, dapr), subscription_router(subs, dapr)],
        readiness={
            "database": db.is_reachable,
            "sidecar": dapr.sidecar_ready,
            "subscriptions": subscriptions_consumed,
        },
    )
