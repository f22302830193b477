"""contracts/catalog.py (what the published AsyncAPI document says) agrees with what the platform
enforces: the pub/sub scopes in components/common/pubsub.yaml and each app's subscriptions."""

from __future__ import annotations

import yaml

from contracts.catalog import REDRIVER, TOPICS
from deploy.stack.paths import ROOT


def scopes(name: str) -> dict[str, set[str]]:
    doc = yaml.safe_load((ROOT / "components/common/pubsub.yaml").read_text())
    value = next(m["value"] for m in doc["spec"]["metadata"] if m["name"] == name)
    pairs = (entry.split("=", 1) for entry in value.replace(" ", "").split(";") if entry)
    return {app: {t for t in topics.split(",") if t} for app, topics in pairs}


def test_producers_are_the_apps_allowed_to_publish():
    allowed = scopes("publishingScopes")
    for t in TOPICS:
        publishers = {app for app, topics in allowed.items() if t.name in topics}
        assert publishers - {REDRIVER} == set(t.producers) - {REDRIVER}, t.name
        assert publishers >= set(t.producers), t.name


def test_consumers_are_the_apps_allowed_to_subscribe():
    allowed = scopes("subscriptionScopes")
    for t in TOPICS:
        assert {app for app, topics in allowed.items() if t.name in topics} == set(t.consumers)
