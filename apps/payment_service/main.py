"""payment-service: customer balances, charges and refunds (called by the saga via Dapr)."""

from fastapi import FastAPI

from apps.common.app import create_app
from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.settings import get_settings
from apps.payment_service.routes import api_router


def create() -> FastAPI:
    """The app, built at start-up (uvicorn factory): importing this module opens nothing."""
    settings = get_settings()
    db = Database(settings.database, settings)
    db.create_tables()
    dapr = DaprClient()
    return create_app(
        "payment-service",
        routers=[api_router(db)],
        readiness={"database": db.is_reachable, "sidecar": dapr.sidecar_ready},
    )
