#!/usr/bin/env bash
# Builds the two Dapr control-plane services that only run on Kubernetes, the operator and the
# sidecar injector, from the same patched github.com/dapr/dapr sources as dapr.sh (daprd,
# placement, scheduler, sentry; dapr-sources.sh), so every Dapr image of the cluster is one build.
# Result: $CACHE_DIR/dapr-k8s-$DAPR_VERSION/{operator,injector,build.txt}
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
source "$(dirname "${BASH_SOURCE[0]}")/dapr-sources.sh"

entry="$CACHE_DIR/dapr-k8s-$DAPR_VERSION"
log="$LOG_DIR/dapr-k8s-build.log"
commands=(operator injector)
complete() { dapr_stamped "$entry/build.txt" && [[ -x $entry/operator && -x $entry/injector ]]; }

complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail dapr-k8s "$log" "Go is required to build the Dapr operator and injector"
: >"$log"
export CGO_ENABLED=0 GOFLAGS="-buildvcs=false -mod=mod"
start=$SECONDS
partial="$entry.partial"
rm -rf "$partial" && mkdir -p "$partial"
dapr_sources dapr-k8s "$log" "$partial/src"
for cmd in "${commands[@]}"; do
  say "dapr-k8s: building $cmd $DAPR_VERSION (log: $log)"
  (cd "$partial/src" && with_progress "$cmd" "$log" nice -n 19 go build -ldflags "$DAPR_LDFLAGS" \
      -o "$partial/$cmd" "./cmd/$cmd") || fail dapr-k8s "$log" "go build of $cmd failed"
  # Both print their version at start and exit 2 on an unknown flag: --help lists their flags.
  [[ $("$partial/$cmd" --help 2>&1) == *-kubeconfig* ]] || fail dapr-k8s "$log" "the built $cmd does not start"
done
printf '%s\n' "$DAPR_BUILD_ID" >"$partial/build.txt"
rm -rf "$partial/src" "$entry" && mv "$partial" "$entry"
say "dapr-k8s: operator and injector $DAPR_VERSION ready in $entry ($((SECONDS - start))s)"
