#!/usr/bin/env bash
# Builds Toxiproxy (the TCP proxy the chaos tests put between the stack and Kafka/PostgreSQL)
# from the Go module proxy; no release binary is on a registry this machine reaches.
# Result: $CACHE_DIR/toxiproxy-$TOXIPROXY_VERSION/bin/{toxiproxy-server,toxiproxy-cli}, version
# stamped (GET /version answers $TOXIPROXY_VERSION). `CHAOS=1 make up` starts the server.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/toxiproxy-$TOXIPROXY_VERSION"
log="$LOG_DIR/toxiproxy-build.log"
module="github.com/Shopify/toxiproxy/v2"
complete() { [[ -x "$entry/bin/toxiproxy-server" && -x "$entry/bin/toxiproxy-cli" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v go >/dev/null || fail toxiproxy "$log" "Go is required to build Toxiproxy"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial/bin"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# `go install module/cmd@version` builds with the module's own go.mod and go.sum.
ldflags="-s -w -X $module.Version=$TOXIPROXY_VERSION"
for cmd in server cli; do
  say "toxiproxy: building toxiproxy-$cmd $TOXIPROXY_VERSION from the Go module proxy (log: $log)"
  GOBIN="$partial/gobin" with_progress "toxiproxy-$cmd" "$log" \
      go install -ldflags "$ldflags" "$module/cmd/$cmd@v$TOXIPROXY_VERSION" \
    || fail toxiproxy "$log" "go install $module/cmd/$cmd@v$TOXIPROXY_VERSION failed"
  mv "$partial/gobin/$cmd" "$partial/bin/toxiproxy-$cmd"
done
rm -rf "$partial/gobin"

got=$("$partial/bin/toxiproxy-server" -version 2>>"$log") \
  || fail toxiproxy "$log" "the built toxiproxy-server does not start"
[[ $got == "toxiproxy-server version $TOXIPROXY_VERSION" ]] \
  || fail toxiproxy "$log" "toxiproxy-server -version printed '$got', expected $TOXIPROXY_VERSION"
rm -rf "$entry" && mv "$partial" "$entry"
say "toxiproxy: $TOXIPROXY_VERSION ready in $entry"
