"""The gateway's public API against the last released one (contracts/released/openapi.json):
oasdiff's breaking-change check (`oasdiff breaking`, errors only; its warnings do not fail).
A removed operation, response field or enum value, a new required request field, a narrowed
type: each is a break naming the operation and the field. A change that has to break goes to a
new /api/v2 beside /api/v1 (a new path breaks nothing). `python -m contracts.api_compat`
prints the breaks and exits 1 on any; docs/compatibility.md says how to cut a release."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from contracts import tools
from contracts.generate import OPENAPI, ROOT

RELEASED = ROOT / "released" / "openapi.json"
ERROR = 3  # oasdiff's level of a breaking change (2: a warning, 1: information)


@dataclass(frozen=True)
class ApiBreak:
    rule: str  # oasdiff's id of the check, e.g. response-required-property-removed
    operation: str  # e.g. POST /api/v1/orders
    text: str  # what changed, naming the field

    def __str__(self) -> str:
        return f"{self.operation}: {self.text} [{self.rule}]"


def breaking_changes(released: Path = RELEASED, current: Path = OPENAPI) -> list[ApiBreak]:
    """What `current` breaks of `released`, as oasdiff reports it."""
    run = subprocess.run(
        [str(tools.oasdiff()), "breaking", str(released), str(current), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.returncode != 0:
        raise RuntimeError(f"oasdiff failed ({run.returncode}): {run.stderr.strip()}")
    changes = json.loads(run.stdout or "[]") or []
    return [
        ApiBreak(c["id"], f"{c.get('operation', '')} {c.get('path', '')}".strip(), c["text"])
        for c in changes
        if c["level"] >= ERROR
    ]


def main() -> int:
    breaks = breaking_changes()
    for found in breaks:
        print(f"breaking change to the released API: {found}")
    if breaks:
        print(
            "keep /api/v1 as released (a breaking change goes to a new /api/v2 beside it); "
            "see docs/compatibility.md",
            file=sys.stderr,
        )
    return 1 if breaks else 0


if __name__ == "__main__":
    sys.exit(main())
