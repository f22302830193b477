"""Running the Pact verifier on one pact file, and reading what it found."""

from __future__ import annotations

import json
from pathlib import Path

from pact import Verifier


def parties(pact_file: Path) -> tuple[str, str]:
    doc = json.loads(pact_file.read_text())
    return doc["consumer"]["name"], doc["provider"]["name"]


def is_http(pact_file: Path) -> bool:
    doc = json.loads(pact_file.read_text())
    return all(i["type"] == "Synchronous/HTTP" for i in doc["interactions"])


def run(verifier: Verifier) -> tuple[bool, str]:
    """(passed, the verifier's report without colours)."""
    try:
        verifier.verify()
    except RuntimeError:
        return False, verifier.output(strip_ansi=True)
    return True, verifier.output(strip_ansi=True)
