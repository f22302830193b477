#!/usr/bin/env bash
# Builds oasdiff (the breaking-change check of the gateway's OpenAPI document against the last
# released one, tests/contracts/test_api_compatibility.py) from the Go module proxy:
# `go install github.com/oasdiff/oasdiff@v$OASDIFF_VERSION`, with the module's own go.mod and go.sum.
# Result: $CACHE_DIR/oasdiff-$OASDIFF_VERSION/oasdiff. The build runs at nice 19 (shared CPU).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/oasdiff-$OASDIFF_VERSION"
log="$LOG_DIR/oasdiff-build.log"
module="github.com/oasdiff/oasdiff"
complete() { [[ -x "$entry/oasdiff" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail oasdiff "$log" "Go is required to build oasdiff"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/gobin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

say "oasdiff: building oasdiff $OASDIFF_VERSION from the Go module proxy (about 2 min on 2 cores; log: $log)"
# oasdiff prints the version stamped into build.Version ("development" otherwise).
GOBIN="$partial/gobin" with_progress oasdiff "$log" \
    nice -n 19 go install -ldflags "-s -w -X $module/build.Version=$OASDIFF_VERSION" \
    "$module@v$OASDIFF_VERSION" \
  || fail oasdiff "$log" "go install $module@v$OASDIFF_VERSION failed"
mv "$partial/gobin/oasdiff" "$partial/oasdiff" && rm -rf "$partial/gobin"

got=$("$partial/oasdiff" --version 2>>"$log") || fail oasdiff "$log" "the built oasdiff does not start"
[[ $got == *"$OASDIFF_VERSION"* ]] || fail oasdiff "$log" "oasdiff --version printed '$got', expected $OASDIFF_VERSION"
echo "$got" >>"$log"
rm -rf "$entry" && mv "$partial" "$entry"
say "oasdiff: $OASDIFF_VERSION ready in $entry"
