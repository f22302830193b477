#!/usr/bin/env bash
# The second-language contract check: compiles the TypeScript test and runs it with Node's test
# runner against the messages the last stack run captured (.run/contracts/captured/).
set -euo pipefail
cd "$(dirname "$0")"
[[ -e node_modules ]] || bash ../../../deploy/setup/node.sh
node_modules/.bin/tsc -p .
node --test dist/
