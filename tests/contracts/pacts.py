"""Where pacts live and how the consumer tests make them: one Pact (V4) per consumer and provider,
written to contracts/pacts/<consumer>-<provider>.json (committed; the provider side verifies
exactly these files)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from pact import Pact, match

os.environ.setdefault("PACT_DO_NOT_TRACK", "true")

PACT_DIR = Path(__file__).resolve().parents[2] / "contracts" / "pacts"
AMOUNT = r"^[0-9]+\.[0-9]{2}$"


def new_pact(consumer: str, provider: str) -> Pact:
    return Pact(consumer, provider).with_specification("V4")


def write(pact: Pact) -> None:
    """Writes the pact file, replacing the old one, without the library versions in its metadata
    (so the committed file changes only when the contract does)."""
    pact.write_file(PACT_DIR, overwrite=True)
    path = pact_file(str(pact.consumer), str(pact.provider))
    doc = json.loads(path.read_text())
    doc["metadata"] = {"pactSpecification": doc["metadata"]["pactSpecification"]}
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def pact_file(consumer: str, provider: str) -> Path:
    return PACT_DIR / f"{consumer}-{provider}.json"


def amount(example: str) -> object:
    return match.regex(example, regex=AMOUNT)


def invoke_path(app_id: str, method: str) -> str:
    """What a consumer sends to its own sidecar to call `app_id`'s `method` (Dapr service
    invocation): the pact records the call as it leaves the consumer."""
    return f"/v1.0/invoke/{app_id}/method/{method}"


def from_state(app_id: str, method_template: str) -> dict:
    """A request generator: the path's ids come from the provider state's values."""
    return {"path": {"type": "ProviderState", "expression": invoke_path(app_id, method_template)}}
