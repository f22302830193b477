"""The order-service's database and sidecar client, shared by routes and workflow activities."""

from apps.common.dapr import DaprClient
from apps.common.db import Database
from apps.common.settings import get_settings

db = Database(get_settings().database_url)
dapr = DaprClient(timeout=15.0)
