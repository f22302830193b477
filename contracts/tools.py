"""The compatibility checkers, built by the set-up scripts into the cache outside the repository
at the versions pinned in deploy/setup/versions.env."""

from __future__ import annotations

from pathlib import Path

from deploy.stack.paths import CACHE_DIR, pinned_versions


class ToolMissing(RuntimeError):
    """A checker is not built: the message names the script that builds it."""


def _built(component: str, version_key: str, relative: str) -> Path:
    binary = CACHE_DIR / f"{component}-{pinned_versions()[version_key]}" / relative
    if not binary.is_file():
        raise ToolMissing(f"{binary} is missing: run `bash deploy/setup/{component}.sh`")
    return binary


def oasdiff() -> Path:
    return _built("oasdiff", "OASDIFF_VERSION", "oasdiff")


def jsoncompat() -> Path:
    return _built("jsoncompat", "JSONCOMPAT_VERSION", "bin/jsoncompat")
