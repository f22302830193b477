"""The app image installs only the runtime part of requirements.lock
(deploy/images/app/runtime_requirements.py): every dependency of the project, none of the dev
group's."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def names(requirements: list[str]) -> set[str]:
    return {
        re.sub(r"[-_.]+", "-", re.split(r"[<>=\[ ;]", r, maxsplit=1)[0]).lower()
        for r in requirements
    }


def test_the_image_gets_the_runtime_dependencies_and_no_dev_tool() -> None:
    script = ROOT / "deploy" / "images" / "app" / "runtime_requirements.py"
    out = subprocess.run(
        [sys.executable, str(script), str(ROOT / "requirements.lock")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    runtime = names([ln for ln in out.splitlines() if ln and not ln.startswith(" ")])
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert names(project["project"]["dependencies"]) <= runtime
    dev = names(project["dependency-groups"]["dev"])
    assert not dev & runtime, f"dev packages in the image: {sorted(dev & runtime)}"
    assert "--hash=sha256:" in out  # installed with --require-hashes
