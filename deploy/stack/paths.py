"""Where the stack keeps things: the repository, the run directory, the artifact cache."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path(os.environ.get("RUN_DIR", ROOT / ".run"))
LOG_DIR = RUN_DIR / "logs"  # every app, sidecar and server of a run logs here
PID_DIR = RUN_DIR / "pids"
CACHE_DIR = Path(
    os.environ.get("ORDER_PLATFORM_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "order-platform"
)


def pinned_versions() -> dict[str, str]:
    lines = (ROOT / "deploy/setup/versions.env").read_text().splitlines()
    pairs = (ln.split("=", 1) for ln in lines if "=" in ln and not ln.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def dapr_bin(name: str) -> Path:
    return CACHE_DIR / f"dapr-{pinned_versions()['DAPR_VERSION']}" / ".dapr" / "bin" / name
