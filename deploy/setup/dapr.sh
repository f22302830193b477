#!/usr/bin/env bash
# Builds the Dapr runtime (daprd, placement, scheduler, sentry) from the Go module proxy, because
# `dapr init` downloads from places this machine cannot reach. The dapr CLI is not built: the
# module proxy refuses every github.com/dapr/cli version (403), so deploy/stack runs dapr.yaml.
# Result: $CACHE_DIR/dapr-$DAPR_VERSION/.dapr/{bin/,config.yaml,components/}, the layout the CLI
# expects from `dapr init --slim` (pass the parent directory as runtimePath).
# Dapr 1.18.3 requires modules the proxy refuses (403): patch_sources swaps them for served ones
# (versions.env, docs/dapr-runtime.md). .dapr/build.txt records the swaps; an entry built with
# other ones is built again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/dapr-$DAPR_VERSION"
log="$LOG_DIR/dapr-build.log"
build_id="dapr=$DAPR_VERSION durabletask-go=$DAPR_DURABLETASK_GO"
build_id+=" etcd-server=$DAPR_ETCD_SERVER pulsar=none"
# daprd's start-up log names the swap in its commit field: this build, not upstream's 1.18.3.
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
ldflags+=" -X github.com/dapr/dapr/pkg/buildinfo.gitcommit=durabletask-go@$DAPR_DURABLETASK_GO"
stamped() { [[ -f "$entry/.dapr/build.txt" && $(<"$entry/.dapr/build.txt") == "$build_id" ]]; }
runtime_complete() {
  stamped && [[ -x "$entry/.dapr/bin/daprd" && -x "$entry/.dapr/bin/scheduler" ]]
}
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
  patch_sources "$1"
}

# patch_sources DIR: durabletask-go and the etcd server at the served versions of versions.env, and
# no Pulsar pub/sub (its fork and Avro library are refused; the project's pub/sub is Kafka).
patch_sources() {
  say "dapr: durabletask-go $DAPR_DURABLETASK_GO, etcd server $DAPR_ETCD_SERVER, no Pulsar"
  (cd "$1" && go mod edit \
      -replace="github.com/dapr/durabletask-go=github.com/dapr/durabletask-go@$DAPR_DURABLETASK_GO" \
      -replace="go.etcd.io/etcd/server/v3=go.etcd.io/etcd/server/v3@$DAPR_ETCD_SERVER" \
      -dropreplace=github.com/apache/pulsar-client-go@v0.18.0 \
      -droprequire=github.com/iskorotkov/avro/v2 \
    && rm -f cmd/daprd/components/pubsub_pulsar.go cmd/daprd/components/pubsub_pulsar_test.go) \
    >>"$log" 2>&1 || fail dapr "$log" "could not patch the dapr $DAPR_VERSION sources"
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
# -mod=mod: the patched go.mod needs go.sum lines for the swapped modules.
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"

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
printf '%s\n' "$build_id" >"$partial/.dapr/build.txt"
rm -rf "$entry" && mv "$partial" "$entry"
say "dapr: $DAPR_VERSION ready in $entry"
