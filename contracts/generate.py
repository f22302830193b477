"""Writes the published contracts from the code: `python -m contracts.generate` (`make contracts`).

- contracts/schemas/<topic>/v<N>.json: JSON Schema (2020-12) of each topic's message (`data`)
  at its current version N (contracts/catalog.py), as its producers write it and its consumers
  validate it (pydantic's validation schema of the model). Earlier versions are never written:
  they stay as published, and so does a version once committed (a change is a new version);
- contracts/schemas/cloudevent.json: the CloudEvents envelope daprd puts around each of them;
- contracts/asyncapi.yaml: AsyncAPI 3.0, every topic with its producers, consumers and schema;
- contracts/openapi.json: the gateway's OpenAPI document, as it serves it on /openapi.json.

`--check` writes nothing and exits 1 naming every file that differs from what the code makes.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic.json_schema import models_json_schema

from contracts.catalog import TOPICS, CloudEvent

ROOT = Path(__file__).resolve().parent
SCHEMAS = ROOT / "schemas"
ASYNCAPI = ROOT / "asyncapi.yaml"
OPENAPI = ROOT / "openapi.json"
REGENERATE = "python -m contracts.generate  (or: make contracts)"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_BASE = "https://order-platform.invalid/contracts/schemas/"


def message_schema(model: type, name: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="validation")
    return {"$schema": DRAFT_2020_12, "$id": SCHEMA_BASE + f"{name}.json", **schema}


def version_name(topic: str, version: int) -> str:
    """The schema's file name under contracts/schemas/, without .json."""
    return f"{topic}/v{version}"


def message_schemas() -> dict[str, dict[str, Any]]:
    """File name (without .json) -> schema: each topic's current version, and the envelope."""
    names = (version_name(t.name, t.version) for t in TOPICS)
    schemas = {name: message_schema(t.model, name) for name, t in zip(names, TOPICS, strict=True)}
    schemas["cloudevent"] = message_schema(CloudEvent, "cloudevent")
    return schemas


def _operation(app_id: str, action: str, channel: str) -> dict[str, Any]:
    verb = "publishes to" if action == "send" else "consumes"
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": f"{app_id} {verb} {channel}",
        "tags": [{"name": app_id}],
    }


def asyncapi() -> dict[str, Any]:
    models = [(t.model, "validation") for t in TOPICS] + [(CloudEvent, "validation")]
    _, defs = models_json_schema(models, ref_template="#/components/schemas/{model}")
    schemas = defs["$defs"]
    channels, operations, messages = {}, {}, {}
    for t in TOPICS:
        message_name = t.model.__name__
        messages[message_name] = {
            "name": message_name,
            "title": t.name,
            "summary": t.summary,
            "contentType": "application/json",
            "payload": {
                "description": "a CloudEvent (daprd's envelope) whose `data` is the message",
                "allOf": [
                    {"$ref": "#/components/schemas/CloudEvent"},
                    {"properties": {"data": {"$ref": f"#/components/schemas/{message_name}"}}},
                ],
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": "the order id (partition key)"},
                    "bindingVersion": "0.5.0",
                }
            },
        }
        channels[t.name] = {
            "address": t.name,
            "description": f"producers: {', '.join(t.producers)}; "
            f"consumers: {', '.join(t.consumers)}; message version {t.version} "
            f"(contracts/schemas/{version_name(t.name, t.version)}.json), compatibility: {t.rule}",
            "messages": {message_name: {"$ref": f"#/components/messages/{message_name}"}},
        }
        for app_id in t.producers:
            operations[f"{app_id}.send.{t.name}"] = _operation(app_id, "send", t.name)
        for app_id in t.consumers:
            operations[f"{app_id}.receive.{t.name}"] = _operation(app_id, "receive", t.name)
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Order platform messages",
            "version": "1.0.0",
            "description": "Every Kafka topic of the order platform, published through Dapr "
            "pub/sub (component `orderpubsub`). Generated from apps/common/contracts.py by "
            "`python -m contracts.generate`; do not edit by hand.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:9092",
                "protocol": "kafka",
                "description": "the development stack's broker (`make up`)",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def gateway_openapi() -> dict[str, Any]:
    """The gateway's document, from the real app (built with a throw-away verification key:
    the document does not depend on it)."""
    from apps.gateway.main import create
    from apps.gateway.settings import TokenSettings

    with tempfile.TemporaryDirectory() as scratch:
        public = Path(scratch) / "key.pub"
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        public.write_bytes(
            key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        app = create(tokens=TokenSettings("issuer", "audience", public, public))
        return app.openapi()


def _json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, sort_keys=False) + "\n"


def documents() -> dict[Path, str]:
    """Every generated file and the text the code makes for it."""
    files = {SCHEMAS / f"{name}.json": _json(s) for name, s in message_schemas().items()}
    header = "# Generated by `python -m contracts.generate` from apps/common/contracts.py.\n"
    files[ASYNCAPI] = header + yaml.safe_dump(asyncapi(), sort_keys=False, width=100)
    files[OPENAPI] = _json(gateway_openapi())
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """The files whose committed text differs from `files` (or that are missing)."""
    return [p for p, text in files.items() if not p.is_file() or p.read_text() != text]


def published(path: Path) -> bool:
    """A message schema version committed (git's HEAD has it) is published: frozen. Outside a
    git checkout every version present is."""

    def git(*args: str) -> int:
        return subprocess.run(["git", *args], cwd=ROOT.parent, capture_output=True).returncode

    try:
        if git("rev-parse", "--is-inside-work-tree") != 0:
            return path.is_file()
        return git("cat-file", "-e", f"HEAD:{path.relative_to(ROOT.parent)}") == 0
    except FileNotFoundError:  # no git
        return path.is_file()


def changed_published_versions(files: dict[Path, str]) -> list[Path]:
    """Message schema versions the code would change although they are published."""
    return [p for p in stale(files) if p.parent.parent == SCHEMAS and p.is_file() and published(p)]


def explain(path: Path) -> str:
    if path.parent.parent == SCHEMAS and path.is_file() and published(path):
        return (
            f"{path.relative_to(ROOT.parent)} is published and the model differs from it: "
            "a changed message is a new version (raise the topic's version in "
            f"contracts/catalog.py), then run {REGENERATE}"
        )
    return f"out of date: {path.relative_to(ROOT.parent)}; run {REGENERATE}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m contracts.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="compare only; exit 1 on drift")
    args = parser.parse_args(argv)
    files = documents()
    if args.check:
        drift = stale(files)
        for path in drift:
            print(explain(path))
        return 1 if drift else 0
    frozen = changed_published_versions(files)
    for path in frozen:
        print(explain(path), file=sys.stderr)
    if frozen:
        return 1
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
