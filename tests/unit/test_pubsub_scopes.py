"""components/common/pubsub.yaml: each topic is published only by its producers and consumed only
by its consumers, as the code has them. The scope strings are read the way daprd 1.18 reads them
(pkg/scopes/scopes.go GetScopedTopics, pkg/runtime/pubsub/adapter.go IsOperationAllowed)."""

from __future__ import annotations

import ast

import pytest
import yaml

from apps.common import contracts
from apps.inventory_service.routes import subscriptions as inventory_subscriptions
from apps.notification_service.dead_letters import REDRIVABLE
from apps.notification_service.routes import subscriptions as notification_subscriptions
from apps.order_service.routes import subscriptions as order_subscriptions
from contracts import catalog
from deploy.stack.paths import ROOT

APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]
TOPICS = {t.name for t in catalog.TOPICS}
# Where each app's code lives (the saga's activities run in order-service).
SOURCES = {
    "gateway": ["apps/gateway"],
    "order-service": ["apps/order_service", "workflows"],
    "inventory-service": ["apps/inventory_service"],
    "payment-service": ["apps/payment_service"],
    "notification-service": ["apps/notification_service"],
}


def metadata() -> dict[str, str]:
    doc = yaml.safe_load((ROOT / "components/common/pubsub.yaml").read_text())
    return {m["name"]: str(m["value"]) for m in doc["spec"]["metadata"]}


def scoped_topics(scope: str, app_id: str) -> list[str]:
    """daprd's GetScopedTopics."""
    topics: list[str] = []
    for entry in metadata().get(scope, "").replace(" ", "").split(";"):
        parts = entry.split("=")
        if len(parts) >= 2 and parts[0] == app_id:
            topics += [t for t in parts[1].split(",") if t not in topics]
    return topics


def allowed(scope: str, app_id: str, topic: str) -> bool:
    """daprd's IsOperationAllowed."""
    listed = lambda name: metadata().get(name, "").replace(" ", "").split(",")  # noqa: E731
    if metadata().get("allowedTopics") and topic not in listed("allowedTopics"):
        return False
    scoped = scoped_topics(scope, app_id)
    if topic not in listed("protectedTopics") and not scoped:
        return True
    return topic in scoped


def published_in_code(app_id: str) -> set[str]:
    """Topics named (as contracts constants) in the code's `.publish(TOPIC, ...)` calls."""
    found = set()
    for folder in SOURCES[app_id]:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "publish"
                    and node.args
                    and isinstance(node.args[0], ast.Name)
                    and hasattr(contracts, node.args[0].id)
                ):
                    found.add(getattr(contracts, node.args[0].id))
    return found


def subscriptions() -> dict[str, list]:
    return {
        "order-service": order_subscriptions(None, None),  # type: ignore[arg-type]
        "inventory-service": inventory_subscriptions(None, None),  # type: ignore[arg-type]
        "notification-service": notification_subscriptions(None),  # type: ignore[arg-type]
    }


def expected_publishers(app_id: str) -> set[str]:
    topics = published_in_code(app_id)
    if any(s.dead_letter for s in subscriptions().get(app_id, [])):
        topics.add(contracts.DEAD_LETTERS)  # the app's own dead letters, and its sidecar's
    if app_id == "notification-service":
        topics |= REDRIVABLE  # an operator's redrive publishes to the original topic
    return topics


@pytest.mark.parametrize("app_id", APPS)
def test_each_app_may_publish_what_its_code_publishes_and_nothing_else(app_id):
    may = {t for t in TOPICS | {"other"} if allowed("publishingScopes", app_id, t)}
    assert may == expected_publishers(app_id)


@pytest.mark.parametrize("app_id", APPS)
def test_each_app_may_consume_what_it_subscribes_to_and_nothing_else(app_id):
    wanted = {s.topic for s in subscriptions().get(app_id, [])}
    may = {t for t in TOPICS | {"other"} if allowed("subscriptionScopes", app_id, t)}
    assert may == wanted


def test_the_forgeries_the_tests_try_are_refused():
    assert not allowed("publishingScopes", "payment-service", contracts.STOCK_REPLIES)
    assert not allowed("publishingScopes", "gateway", contracts.ORDER_CANCELLED)
    assert not allowed("publishingScopes", "order-service", contracts.STOCK_REPLIES)
    assert not allowed("publishingScopes", "inventory-service", contracts.ORDER_CANCELLED)


def test_an_app_the_component_does_not_name_gets_no_topic():
    for topic in TOPICS:
        assert not allowed("publishingScopes", "newcomer", topic)
        assert not allowed("subscriptionScopes", "newcomer", topic)
