"""The code's shape, read with the ast module: short functions and modules in apps/, workflows/
and deploy/, and no module (tests and load tests included) reaching into another module of the
project for a `_private` name."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 300
SHAPED = ("apps", "workflows", "deploy")
PROJECT = ("apps", "workflows", "deploy", "contracts", "tests", "loadtests")


def sources(*roots: str) -> Iterator[Path]:
    for root in roots:
        yield from sorted((ROOT / root).rglob("*.py"))


def parsed(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), filename=str(path))


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def long_functions(tree: ast.Module) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than MAX_FUNCTION_LINES, from its
    `def` line to its last line (decorators not counted)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            lines = (node.end_lineno or node.lineno) - node.lineno + 1
            if lines > MAX_FUNCTION_LINES:
                found.append((node.name, lines))
    return found


def private_uses(tree: ast.Module) -> list[str]:
    """`from <project module> import _name`, and `<project module>._name` on a module imported
    with `import` or `from <package> import <module>`."""
    found, modules = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in PROJECT:
                continue
            found += [f"from {node.module} import {a.name}" for a in node.names if private(a.name)]
            modules |= {a.asname or a.name for a in node.names}
        elif isinstance(node, ast.Import):
            modules |= {a.asname or a.name for a in node.names if a.name.split(".")[0] in PROJECT}
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id in modules:
                found.append(ast.unparse(node))
    return found


def test_no_function_is_longer_than_the_limit() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}: {name} ({lines} lines)"
        for path in sources(*SHAPED)
        for name, lines in long_functions(parsed(path))
    ]
    assert too_long == []


def test_no_module_is_longer_than_the_limit() -> None:
    too_long = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sources(*SHAPED)
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    ]
    assert too_long == []


def test_no_module_uses_another_modules_private_names() -> None:
    uses = [
        f"{path.relative_to(ROOT)}: {use}"
        for path in sources(*PROJECT)
        for use in private_uses(parsed(path))
    ]
    assert uses == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "from deploy.stack.runner import _records\n",
            ["from deploy.stack.runner import _records"],
        ),
        ("from apps.common import db\nx = db._engine\n", ["db._engine"]),
        ("import workflows.steps as steps\nsteps._x\n", ["steps._x"]),
        ("from apps.common.db import Database\nDatabase.__name__\n", []),
        ("from os import _exit\n", []),  # another project's, not this one's
    ],
)
def test_the_private_name_check_sees_what_it_should(source: str, expected: list[str]) -> None:
    assert private_uses(ast.parse(source)) == expected


def test_the_length_check_counts_from_def_to_the_last_line() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(ast.parse(f"def f():\n{body}")) == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(ast.parse(f"def f():\n{body[: body.rindex('    x')]}")) == []


def test_the_readme_stays_short() -> None:
    """A newcomer reads it in five minutes; the details are in docs/."""
    assert len((ROOT / "README.md").read_text().splitlines()) < 250
