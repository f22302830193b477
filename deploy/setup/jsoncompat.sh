#!/usr/bin/env bash
# Builds jsoncompat (the compatibility check of each topic's message schema versions,
# contracts/compat.py) from crates.io: `cargo install --locked jsoncompat@$JSONCOMPAT_VERSION`,
# with the crate's own Cargo.lock. Result: $CACHE_DIR/jsoncompat-$JSONCOMPAT_VERSION/bin/jsoncompat.
# The build runs at nice 19 with 2 jobs (shared CPU).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"

entry="$CACHE_DIR/jsoncompat-$JSONCOMPAT_VERSION"
log="$LOG_DIR/jsoncompat-build.log"
complete() { [[ -x "$entry/bin/jsoncompat" ]]; }
complete && exit 0
lock_entry "$entry"
complete && exit 0
command -v cargo >/dev/null || fail jsoncompat "$log" "Rust's cargo is required to build jsoncompat"
: >"$log"
partial="$entry.partial"
rm -rf "$partial"
mkdir -p "$partial"

say "jsoncompat: building jsoncompat $JSONCOMPAT_VERSION from crates.io (a few minutes on 2 cores; log: $log)"
CARGO_TARGET_DIR="$partial/target" with_progress jsoncompat "$log" \
    nice -n 19 cargo install --locked --jobs 2 --root "$partial" \
    --version "$JSONCOMPAT_VERSION" jsoncompat \
  || fail jsoncompat "$log" "cargo install jsoncompat@$JSONCOMPAT_VERSION failed"
rm -rf "$partial/target"

got=$("$partial/bin/jsoncompat" --version 2>>"$log") || fail jsoncompat "$log" "the built jsoncompat does not start"
[[ $got == *"$JSONCOMPAT_VERSION"* ]] || fail jsoncompat "$log" "jsoncompat --version printed '$got', expected $JSONCOMPAT_VERSION"
echo "$got" >>"$log"
rm -rf "$entry" && mv "$partial" "$entry"
say "jsoncompat: $JSONCOMPAT_VERSION ready in $entry"
