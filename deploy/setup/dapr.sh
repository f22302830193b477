#!/usr/bin/env bash
# Builds the Dapr runtime (daprd, placement, scheduler) from the Go module proxy, because
# `dapr init` downloads from places this machine cannot reach. The dapr CLI is not built: the
# module proxy refuses every github.com/dapr/cli version (403), so deploy/stack runs dapr.yaml.
# Result: $CACHE_DIR/dapr-$DAPR_VERSION/.dapr/{bin/,config.yaml,components/}, the layout the CLI
# expects from `dapr init --slim` (pass the parent directory as runtimePath).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/dapr-$DAPR_VERSION"
log="$LOG_DIR/dapr-build.log"
complete() { [[ -x "$entry/.dapr/bin/daprd" && -x "$entry/.dapr/bin/scheduler" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail dapr "$log" "Go is required to build the Dapr runtime"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/.dapr/bin" "$partial/.dapr/components" "$partial/src"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

say "dapr: fetching github.com/dapr/dapr@v$DAPR_VERSION sources (Go module proxy)"
src_json=$(go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" 2>>"$log") \
  || fail dapr "$log" "could not download github.com/dapr/dapr@v$DAPR_VERSION"
src_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$src_json")
# Build inside a writable copy of the module so its own go.mod, go.sum and replace lines apply.
cp -r "$src_dir/." "$partial/src/" && chmod -R u+w "$partial/src"

ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
for cmd in daprd placement scheduler; do
  tags=""
  # daprd panics at start without a components build tag; stablecomponents has kafka, sqlite, postgres.
  [[ $cmd == daprd ]] && tags="-tags=stablecomponents"
  say "dapr: building $cmd $DAPR_VERSION (first build takes several minutes on 2 cores; log: $log)"
  (cd "$partial/src" && with_progress "$cmd" "$log" go build $tags -ldflags "$ldflags" \
      -o "$partial/.dapr/bin/$cmd" "./cmd/$cmd") || fail dapr "$log" "go build of $cmd failed"
done

rm -rf "$partial/src"

cat >"$partial/.dapr/config.yaml" <<'YAML'
# Written by deploy/setup/dapr.sh, the equivalent of `dapr init --slim`.
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: daprConfig
spec: {}
YAML
"$partial/.dapr/bin/daprd" --version >>"$log" 2>&1 || fail dapr "$log" "built daprd does not start"
got=$("$partial/.dapr/bin/daprd" --version)
[[ $got == "$DAPR_VERSION" ]] || fail dapr "$log" "daprd --version printed '$got', expected $DAPR_VERSION"
rm -rf "$entry" && mv "$partial" "$entry"
say "dapr: $DAPR_VERSION ready in $entry"
