"""Each topic's message versions (contracts/schemas/<topic>/v<N>.json) against every earlier
one, under the topic's rule (contracts/catalog.py), judged by jsoncompat (a maintained JSON
Schema compatibility checker, built by deploy/setup/jsoncompat.sh).

A version's file is what its producers write: exactly the model's fields (`additionalProperties:
false`). Its consumers read more: they ignore properties they do not know
(`apps.common.pubsub.parse_message`), so a version's reader schema is its file with every object
opened. Then, for versions old < new:

- backward (new consumers read old messages): writer(old) within reader(new), jsoncompat's
  `deserializer` role;
- forward (old consumers read new messages): writer(new) within reader(old), its `serializer`
  role;
- full: both.

`python -m contracts.message_compat` prints every break and exits 1 on any.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts import tools
from contracts.catalog import TOPICS, Rule
from contracts.generate import SCHEMAS

VERSION_FILE = re.compile(r"^v([1-9][0-9]*)\.json$")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNKNOWN = 2  # jsoncompat's exit status when it can prove neither


@dataclass(frozen=True)
class MessageBreak:
    topic: str
    old: int
    new: int
    direction: str  # backward | forward
    detail: str  # jsoncompat's explanation, naming the property (its old/new: the check's order)

    def __str__(self) -> str:
        who = {
            "backward": f"v{self.new} consumers cannot read every v{self.old} message",
            "forward": f"v{self.old} consumers cannot read every v{self.new} message",
        }[self.direction]
        return (
            f"{self.topic} v{self.old} -> v{self.new} ({self.direction}): {who}; "
            f"jsoncompat: {self.detail}"
        )


def versions(topic: str, root: Path = SCHEMAS) -> dict[int, dict[str, Any]]:
    """The topic's published versions, by number."""
    found = {}
    for path in (root / topic).glob("*.json"):
        match = VERSION_FILE.match(path.name)
        if not match:
            raise ValueError(f"{path}: a message schema version is named v<N>.json")
        found[int(match.group(1))] = json.loads(path.read_text())
    return dict(sorted(found.items()))


def writer(schema: dict[str, Any]) -> dict[str, Any]:
    # $id would make jsoncompat resolve the local $refs against a remote base.
    return {k: v for k, v in schema.items() if k != "$id"}


def reader(schema: Any) -> Any:
    """`schema` as a tolerant consumer reads it: no object refuses unknown properties."""
    if isinstance(schema, dict):
        return {
            k: reader(v)
            for k, v in schema.items()
            if k != "$id" and not (k == "additionalProperties" and v is False)
        }
    if isinstance(schema, list):
        return [reader(v) for v in schema]
    return schema


def _jsoncompat(old: dict[str, Any], new: dict[str, Any], role: str) -> str | None:
    """None when compatible; else jsoncompat's explanation (and its counter-example)."""
    with tempfile.TemporaryDirectory() as scratch:
        paths = [Path(scratch) / name for name in ("old.json", "new.json")]
        for path, schema in zip(paths, (old, new), strict=True):
            path.write_text(json.dumps(schema))
        run = subprocess.run(
            [str(tools.jsoncompat()), "compat", *map(str, paths), "--role", role],
            capture_output=True,
            text=True,
            timeout=120,
        )
    if run.returncode == 0:
        return None
    text = ANSI.sub("", run.stderr).strip()
    if run.returncode not in (1, UNKNOWN):
        raise RuntimeError(f"jsoncompat failed ({run.returncode}): {text}")
    lines = [ln.strip() for ln in text.splitlines()]
    explained = [ln.removeprefix("• ") for ln in lines if ln.startswith("• ")]
    return "; ".join(explained) or " ".join(lines)


def check_pair(
    topic: str, old: tuple[int, dict[str, Any]], new: tuple[int, dict[str, Any]], rule: Rule
) -> list[MessageBreak]:
    (old_n, old_schema), (new_n, new_schema) = old, new
    breaks = []
    if rule in (Rule.BACKWARD, Rule.FULL):
        detail = _jsoncompat(writer(old_schema), reader(new_schema), "deserializer")
        if detail:
            breaks.append(MessageBreak(topic, old_n, new_n, "backward", detail))
    if rule in (Rule.FORWARD, Rule.FULL):
        detail = _jsoncompat(reader(old_schema), writer(new_schema), "serializer")
        if detail:
            breaks.append(MessageBreak(topic, old_n, new_n, "forward", detail))
    return breaks


def check_topic(topic: str, published: dict[int, dict[str, Any]], rule: Rule) -> list[MessageBreak]:
    """Every version against every earlier one."""
    numbers = list(published)
    return [
        found
        for i, new in enumerate(numbers)
        for old in numbers[:i]
        for found in check_pair(topic, (old, published[old]), (new, published[new]), rule)
    ]


def main() -> int:
    breaks = [b for t in TOPICS for b in check_topic(t.name, versions(t.name), t.rule)]
    for found in breaks:
        print(f"incompatible message version: {found}")
    return 1 if breaks else 0


if __name__ == "__main__":
    sys.exit(main())
