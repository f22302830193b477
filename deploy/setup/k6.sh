#!/usr/bin/env bash
# Builds k6 (the load generator of `make bench` and the bench subset of `make test`) from the Go
# module proxy: `go install go.k6.io/k6@v$K6_VERSION`, with the module's own go.mod and go.sum.
# Result: $CACHE_DIR/k6-$K6_VERSION/k6, version checked (`k6 version` names $K6_VERSION).
# The build runs at the lowest CPU priority (nice 19): the machine is shared.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/k6-$K6_VERSION"
log="$LOG_DIR/k6-build.log"
complete() { [[ -x "$entry/k6" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail k6 "$log" "Go is required to build k6"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/gobin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

say "k6: building k6 $K6_VERSION from the Go module proxy (a few minutes on 2 cores; log: $log)"
GOBIN="$partial/gobin" with_progress k6 "$log" \
    nice -n 19 go install -ldflags "-s -w" "go.k6.io/k6@v$K6_VERSION" \
  || fail k6 "$log" "go install go.k6.io/k6@v$K6_VERSION failed"
mv "$partial/gobin/k6" "$partial/k6" && rm -rf "$partial/gobin"

got=$("$partial/k6" version 2>>"$log") || fail k6 "$log" "the built k6 does not start"
[[ $got == *"v$K6_VERSION"* ]] || fail k6 "$log" "k6 version printed '$got', expected v$K6_VERSION"
echo "$got" >>"$log"
rm -rf "$entry" && mv "$partial" "$entry"
say "k6: $K6_VERSION ready in $entry"
