#!/usr/bin/env bash
# `make lock`: re-resolves requirements.lock from pyproject.toml (dependencies and the dev
# group) after a dependency changed. The one lock of the project: every package pinned with its
# hashes, without download addresses (uv's own uv.lock would carry them, so there is none).
# The pins already in requirements.lock are kept unless pyproject.toml rules them out.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log="$LOG_DIR/lock.log"
bash "$(dirname "${BASH_SOURCE[0]}")/python.sh"  # installs the pinned uv
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_DIR/uv-cache}"
say "python: resolving requirements.lock from pyproject.toml"
(cd "$root" && "$CACHE_DIR/uv-$UV_VERSION/bin/uv" pip compile pyproject.toml --group dev \
   --universal --python-version 3.11 --generate-hashes --no-header -q -o requirements.lock) \
  >>"$log" 2>&1 || fail lock "$log" "resolving requirements.lock failed"
bash "$(dirname "${BASH_SOURCE[0]}")/python.sh"  # .venv synced to the new lock
