"""inventory-service: stock levels and reservations, driven by Kafka commands."""

from fastapi import FastAPI

from apps.common.app import create_app
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.health import SubscriptionCheck
from apps.common.pubsub import subscription_router
from apps.common.settings import get_settings
from apps.inventory_service.routes import api_router, subscriptions


def create() -> FastAPI:
    """The app, built at start-up (uvicorn factory): importing this module opens nothing."""
    settings = get_settings()
    db = Database(settings.database, settings)
    db.create_tables()
    dapr = DaprClient()
    subs = subscriptions(db, dapr)
    subscriptions_consumed = SubscriptionCheck(dapr, [s.topic for s in subs])
    return create_app(
        "inventory-service",
        routers=[api_router(db), subscription_router(subs)],
        readiness={
            "database": db.is_reachable,
            "sidecar": dapr.sidecar_ready,
            "subscriptions": subscriptions_consumed,
        },
    )
