#!/usr/bin/env bash
# Installs uv (pinned, cached outside the repository) and syncs .venv from requirements.lock.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
log="$LOG_DIR/python.log"
uv_entry="$CACHE_DIR/uv-$UV_VERSION"
if [[ ! -x "$uv_entry/bin/uv" ]]; then
  lock_entry "$uv_entry"
fi
if [[ ! -x "$uv_entry/bin/uv" ]]; then
  say "python: installing uv $UV_VERSION"
  rm -rf "$uv_entry.partial"
  python3 -m venv "$uv_entry.partial" >>"$log" 2>&1 || fail uv "$log" "could not create a virtualenv"
  "$uv_entry.partial/bin/pip" install -q "uv==$UV_VERSION" >>"$log" 2>&1 \
    || { rm -rf "$uv_entry.partial"; fail uv "$log" "pip install uv==$UV_VERSION failed"; }
  # bin/uv is a standalone native binary, so the entry still works after the rename.
  mv "$uv_entry.partial" "$uv_entry"
fi
export UV_CACHE_DIR="${UV_CACHE_DIR:-$CACHE_DIR/uv-cache}"
# requirements.lock pins every package with its hashes (exported from uv's resolution; see the
# README), so the environment is exact and verified.
say "python: syncing .venv from requirements.lock"
(cd "$root" && { [[ -x .venv/bin/python ]] || "$uv_entry/bin/uv" venv -q --python python3.11 .venv; } \
   && "$uv_entry/bin/uv" pip sync -q --python .venv/bin/python --require-hashes requirements.lock) \
  >>"$log" 2>&1 || fail python "$log" "installing requirements.lock into .venv failed"
