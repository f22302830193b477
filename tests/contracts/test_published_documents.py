"""The published documents (contracts/asyncapi.yaml, contracts/schemas/, contracts/openapi.json)
are what the code makes (a topic's current schema version; the earlier ones are kept), and
valid: JSON Schema metaschemas (jsonschema), the OpenAPI 3.1 spec (openapi-spec-validator). The
AsyncAPI 3.0 structural check is in the TypeScript test (tests/contracts/ts), against the
AsyncAPI JSON Schema of the @asyncapi/specs package."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import yaml
from jsonschema import Draft7Validator, Draft202012Validator
from openapi_spec_validator import validate

from apps.common.contracts import OrderConfirmed, ReserveStock, StockLine
from contracts.catalog import TOPICS, topic
from contracts.generate import (
    ASYNCAPI,
    OPENAPI,
    REGENERATE,
    SCHEMAS,
    changed_published_versions,
    documents,
    explain,
    stale,
)

SAMPLES = {
    "reserve-stock": ReserveStock(order_id="o-1", items=[StockLine(product_id="p", quantity=2)]),
    "order-confirmed": OrderConfirmed(order_id="o-1", customer_id="c", total_amount=Decimal("6")),
}


def test_committed_documents_are_what_the_code_generates():
    drift = stale(documents())
    assert not drift, (
        f"{', '.join(p.name for p in drift)} differ from what the code generates: "
        f"run `{REGENERATE}` and commit the result"
    )


def test_message_schemas_are_valid_json_schemas():
    assert sorted(p.name for p in SCHEMAS.glob("*.json")) == ["cloudevent.json"]
    assert sorted(p.name for p in SCHEMAS.iterdir() if p.is_dir()) == sorted(t.name for t in TOPICS)
    for path in SCHEMAS.glob("**/*.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))


def test_each_topic_keeps_every_version_up_to_its_current_one():
    for t in TOPICS:
        files = sorted(p.name for p in (SCHEMAS / t.name).iterdir())
        assert files == sorted(f"v{n}.json" for n in range(1, t.version + 1)), t.name


def test_a_published_version_is_never_rewritten():
    """A model changed without a new version: generation refuses, naming the file and what to
    do (contracts/schemas/reserve-stock/v1.json is committed)."""
    files = documents()
    v1 = SCHEMAS / "reserve-stock" / "v1.json"
    files[v1] = files[v1].replace('"orderId"', '"order"')
    assert changed_published_versions(files) == [v1]
    assert "is published" in explain(v1) and "a changed message is a new version" in explain(v1)


def test_asyncapi_schemas_are_valid_and_every_topic_is_a_channel():
    doc = yaml.safe_load(ASYNCAPI.read_text())
    assert doc["asyncapi"] == "3.0.0"
    assert set(doc["channels"]) == {t.name for t in TOPICS}
    for schema in doc["components"]["schemas"].values():
        Draft7Validator.check_schema(schema)  # AsyncAPI's default schema format is draft 7


def test_gateway_openapi_is_a_valid_openapi_document():
    validate(json.loads(OPENAPI.read_text()))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_schema_accepts_what_the_producer_sends_and_refuses_a_missing_field(name):
    schema = json.loads((SCHEMAS / name / f"v{topic(name).version}.json").read_text())
    validator = Draft202012Validator(schema)
    message = SAMPLES[name].wire()
    assert list(validator.iter_errors(message)) == []
    message.pop("orderId")
    assert [e.message for e in validator.iter_errors(message)] == [
        "'orderId' is a required property"
    ]
    assert topic(name).model is type(SAMPLES[name])
