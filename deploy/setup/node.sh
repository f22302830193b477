#!/usr/bin/env bash
# Installs the contract check's npm packages (tests/contracts/ts: ajv, @asyncapi/specs, yaml,
# TypeScript) from its committed package-lock.json into the cache, one entry per lock file, and
# links tests/contracts/ts/node_modules to it. Needs Node 20+ and npm (Debian: nodejs, npm).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
project="$root/tests/contracts/ts"
log="$LOG_DIR/node-contracts.log"
command -v node >/dev/null && command -v npm >/dev/null \
  || fail node "$log" "Node.js 20+ and npm are required (apt-get install nodejs npm)"
major=$(node -p 'process.versions.node.split(".")[0]')
((major >= 20)) || fail node "$log" "Node.js 20+ is required, found $(node --version)"
lock_hash=$(sha256sum "$project/package-lock.json" | cut -c1-16)
entry="$CACHE_DIR/node-contracts-$lock_hash"
complete() { [[ -f "$entry/node_modules/.package-lock.json" ]]; }
if ! complete; then
  lock_entry "$entry"
fi
if ! complete; then
  say "node: installing the contract check's packages (npm ci; log: $log)"
  : >"$log"
  partial="$entry.partial"
  rm -rf "$partial" && mkdir -p "$partial"
  cp "$project/package.json" "$project/package-lock.json" "$partial/"
  (cd "$partial" && with_progress npm "$log" npm ci --no-audit --no-fund --ignore-scripts) \
    || fail node "$log" "npm ci failed"
  rm -rf "$entry" && mv "$partial" "$entry"
fi
ln -sfn "$entry/node_modules" "$project/node_modules"
