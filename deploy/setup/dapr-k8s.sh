#!/usr/bin/env bash
# Builds the two Dapr control-plane services that only run on Kubernetes, the operator and the
# sidecar injector, from the same github.com/dapr/dapr sources as dapr.sh (daprd, placement,
# scheduler, sentry), so every Dapr image of the cluster is one version.
# Result: $CACHE_DIR/dapr-k8s-$DAPR_VERSION/{operator,injector}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/dapr-k8s-$DAPR_VERSION"
log="$LOG_DIR/dapr-k8s-build.log"
commands=(operator injector)
complete() { [[ -x $entry/operator && -x $entry/injector ]]; }

complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail dapr-k8s "$log" "Go is required to build the Dapr operator and injector"
: >"$log"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
start=$SECONDS
partial="$entry.partial"
rm -rf "$partial" && mkdir -p "$partial/src"
# A writable copy of the module, so its own go.mod, go.sum and replace lines apply (as dapr.sh).
src_json=$(go mod download -json "github.com/dapr/dapr@v$DAPR_VERSION" 2>>"$log") \
  || fail dapr-k8s "$log" "could not download github.com/dapr/dapr@v$DAPR_VERSION"
src_dir=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])' <<<"$src_json")
cp -r "$src_dir/." "$partial/src/" && chmod -R u+w "$partial/src"
ldflags="-s -w -X github.com/dapr/dapr/pkg/buildinfo.version=$DAPR_VERSION"
for cmd in "${commands[@]}"; do
  say "dapr-k8s: building $cmd $DAPR_VERSION (log: $log)"
  (cd "$partial/src" && with_progress "$cmd" "$log" nice -n 19 go build -ldflags "$ldflags" \
      -o "$partial/$cmd" "./cmd/$cmd") || fail dapr-k8s "$log" "go build of $cmd failed"
  # Both print their version at start and exit 2 on an unknown flag: --help lists their flags.
  [[ $("$partial/$cmd" --help 2>&1) == *-kubeconfig* ]] || fail dapr-k8s "$log" "the built $cmd does not start"
done
rm -rf "$partial/src" "$entry" && mv "$partial" "$entry"
say "dapr-k8s: operator and injector $DAPR_VERSION ready in $entry ($((SECONDS - start))s)"
