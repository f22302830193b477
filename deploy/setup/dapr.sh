#!/usr/bin/env bash
# Builds the Dapr runtime (daprd, placement, scheduler, sentry) from the Go module proxy, because
# `dapr init` downloads from places this machine cannot reach. The dapr CLI is not built: the
# module proxy refuses every github.com/dapr/cli version (403), so deploy/stack runs dapr.yaml.
# Result: $CACHE_DIR/dapr-$DAPR_VERSION/.dapr/{bin/,config.yaml,components/}, the layout the CLI
# expects from `dapr init --slim` (pass the parent directory as runtimePath).
# Sources: dapr-sources.sh (the swaps of the modules the proxy refuses; .dapr/build.txt records
# them, and an entry built with other ones is built again).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
source "$(dirname "${BASH_SOURCE[0]}")/dapr-sources.sh"

entry="$CACHE_DIR/dapr-$DAPR_VERSION"
log="$LOG_DIR/dapr-build.log"
runtime_complete() {
  dapr_stamped "$entry/.dapr/build.txt" \
    && [[ -x "$entry/.dapr/bin/daprd" && -x "$entry/.dapr/bin/scheduler" ]]
}
complete() { runtime_complete && [[ -x "$entry/.dapr/bin/sentry" ]]; }

# build_cmd SRC CMD OUT: go build of ./cmd/CMD, niced (this machine is shared), with progress.
build_cmd() {
  local tags=""
  # daprd panics at start without a components build tag; stablecomponents has kafka, sqlite, postgres.
  [[ $2 == daprd ]] && tags="-tags=stablecomponents"
  say "dapr: building $2 $DAPR_VERSION (first build takes several minutes on 2 cores; log: $log)"
  (cd "$1" && with_progress "$2" "$log" nice -n 19 go build $tags -ldflags "$DAPR_LDFLAGS" \
      -o "$3" "./cmd/$2") || fail dapr "$log" "go build of $2 failed"
}

# sentry has no --version; its --help (exit 2) lists its flags.
sentry_starts() { [[ $("$1" --help 2>&1) == *--issuer-credentials* ]]; }

complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail dapr "$log" "Go is required to build the Dapr runtime"
: >"$log"
# -mod=mod: the patched go.mod needs go.sum lines for the swapped modules (dapr-sources.sh).
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"

# An entry built before sentry was part of it (mTLS, README "Security"): build sentry alone
# beside it rather than the whole runtime again.
if runtime_complete; then
  partial="$entry.sentry.partial"
  rm -rf "$partial"
  dapr_sources dapr "$log" "$partial/src"
  build_cmd "$partial/src" sentry "$partial/sentry"
  sentry_starts "$partial/sentry" || fail dapr "$log" "built sentry does not start"
  mv "$partial/sentry" "$entry/.dapr/bin/sentry" && rm -rf "$partial"
  say "dapr: sentry $DAPR_VERSION added to $entry"
  exit 0
fi

partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/.dapr/bin" "$partial/.dapr/components"
dapr_sources dapr "$log" "$partial/src"

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
printf '%s\n' "$DAPR_BUILD_ID" >"$partial/.dapr/build.txt"
rm -rf "$entry" && mv "$partial" "$entry"
say "dapr: $DAPR_VERSION ready in $entry"
