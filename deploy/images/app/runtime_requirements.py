"""Prints the runtime part of requirements.lock: the project's dependencies
(pyproject.toml [project].dependencies) and everything they need, with their hashes.

The lock (`make lock`: `uv pip compile` of pyproject.toml with the dev group) also holds the dev
group (pytest, ruff, mypy, Playwright, matplotlib...). Each entry's `# via` comment names what
needs it: the project's own dependencies say `order-platform (pyproject.toml)`, the dev group's
roots `order-platform (pyproject.toml:dev)` (a lock exported by `uv export`, as before, says
`order-platform` and leaves dev roots without one). So the runtime set is what is reachable
from the project, not from its dev group, through those edges. pip --require-hashes then refuses
the install if a dependency were missing from what this prints.

Usage: python3 runtime_requirements.py requirements.lock > runtime.txt (stdlib only)."""

from __future__ import annotations

import re
import sys
from pathlib import Path

PROJECT = "order-platform"
NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==")


def entries(lock: str) -> dict[str, list[str]]:
    """Package name (normalised) -> its lines (requirement, hashes, via comments)."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in lock.splitlines():
        match = NAME.match(line)
        if match:
            current = found.setdefault(normalise(match.group(1)), [])
        if current is not None and line.strip():
            current.append(line)
    return found


def needed_by(lines: list[str]) -> set[str]:
    """The `# via` names of one entry: who needs it."""
    names, in_via = set(), False
    for line in lines:
        text = line.strip()
        if text.startswith("# via"):
            in_via = True
            rest = text.removeprefix("# via").strip()
            if rest:
                names.add(rest)
        elif in_via and text.startswith("#"):
            names.add(text.lstrip("#").strip())
    return {edge(n) for n in names}


def edge(via: str) -> str:
    """`pkg`, `order-platform (pyproject.toml)` or `order-platform (pyproject.toml:dev)`: the
    package, or for a dependency group the project and its group (never the project itself)."""
    name, _, source = via.partition(" ")
    group = source.strip("()").partition(":")[2]
    return f"{normalise(name)}:{group}" if group else normalise(name)


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime(found: dict[str, list[str]]) -> list[str]:
    parents = {name: needed_by(lines) for name, lines in found.items()}
    keep = {PROJECT}
    grew = True
    while grew:
        grew = False
        for name, via in parents.items():
            if name not in keep and via & keep:
                keep.add(name)
                grew = True
    return sorted(keep - {PROJECT})


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        sys.exit("usage: runtime_requirements.py requirements.lock")
    found = entries(Path(argv[1]).read_text())
    names = runtime(found)
    if not names:
        sys.exit(f"{argv[1]}: no package is needed by {PROJECT}: not a uv export?")
    for name in names:
        print("\n".join(line for line in found[name] if not line.strip().startswith("#")))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
