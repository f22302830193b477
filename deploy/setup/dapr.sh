#!/usr/bin/env bash
# Builds the Dapr runtime (daprd, placement, scheduler, sentry) from the Go module proxy, because
# `dapr init` downloads from places this machine cannot reach. The dapr CLI is not built: the
# module proxy refuses every github.com/dapr/cli version (403), so deploy/stack runs dapr.yaml.
# Result: $CACHE_DIR/dapr-$DAPR_VERSION/.dapr/{bin/,config.yaml,components/}, the layout the CLI
# expects from `dapr init --slim` (pass the parent directory as runtimePath).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/dapr-$DAPR_VERSION"
log="$LOG_DIR/dapr-build.log"
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
runtime_complete() { [[ -x "$entry/.dapr/bin/daprd" && -x "$entry/.dapr/bin/scheduler" ]]; }
complete() { runtime_complete && [[ -x "$entry/.dapr/bin/sentry" ]]; }

# fetch_sources DIR: a writable copy of the dapr module in DIR, so its own go.mod, go.sum and
# replace lines apply to the build.
fetch_sources() {
  say "dapr: fetching github.com/dapr/dapr@v$DAPR_VERSION sources (Go module proxy)"
  local src_json src_dir
  src_json=$(go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" 2>>"$log") \
    || fail dapr "$log" "could not download github.com/dapr/dapr@v$DAPR_VERSION"
  src_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$src_json")
  mkdir -p "$1" && cp -r "$src_dir/." "$1/" && chmod -R u+w "$1"
}

# build_cmd SRC CMD OUT: go build of ./cmd/CMD, niced (this machine is shared), with progress.
build_cmd() {
  local tags=""
  # daprd panics at start without a components build tag; stablecomponents has kafka, sqlite, postgres.
  [[ $2 == daprd ]] && tags="-tags=stablecomponents"
  say "dapr: building $2 $DAPR_VERSION (first build takes several minutes on 2 cores; log: $log)"
  (cd "$1" && with_progress "$2" "$log" nice -n 19 go build $tags -ldflags "$ldflags" \
      -o "$3" "./cmd/$2") || fail dapr "$log" "go build of $2 failed"
}

# sentry has no --version; its --help (exit 2) lists its flags.
sentry_starts() { [[ $("$1" --help 2>&1) == *--issuer-credentials* ]]; }

complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail dapr "$log" "Go is required to build the Dapr runtime"
: >"$log"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# An entry built before sentry was part of it (mTLS, README "Security"): build sentry alone
# beside it rather than the whole runtime again.
if runtime_complete; then
  partial="$entry.sentry.partial"
  rm -rf "$partial"
  fetch_sources "$partial/src"
  build_cmd "$partial/src" sentry "$partial/sentry"
  sentry_starts "$partial/sentry" || fail dapr "$log" "built sentry does not start"
  mv "$partial/sentry" "$entry/.dapr/bin/sentry" && rm -rf "$partial"
  say "dapr: sentry $DAPR_VERSION added to $entry"
  exit 0
fi

partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/.dapr/bin" "$partial/.dapr/components"
fetch_sources "$partial/src"

for cmd in daprd placement scheduler sentry; do
  build_cmd "$partial/src" "$cmd" "$partial/.dapr/bin/$cmd"
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
sentry_starts "$partial/.dapr/bin/sentry" || fail dapr "$log" "built sentry does not start"
got=$("$partial/.dapr/bin/daprd" --version)
[[ $got == "$DAPR_VERSION" ]] || fail dapr "$log" "daprd --version printed '$got', expected $DAPR_VERSION"
rm -rf "$entry" && mv "$partial" "$entry"
say "dapr: $DAPR_VERSION ready in $entry"
