#!/usr/bin/env bash
# The development key pair for bearer tokens (ES256, P-256), kept in the cache outside the
# repository: the gateway verifies with jwt-es256.pub, `make token` signs with jwt-es256.key (0600).
# For local use only: a real deployment sets AUTH_PUBLIC_KEY_FILE to its issuer's key.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
log="$LOG_DIR/devkeys.log"
entry="$CACHE_DIR/dev-keys"
complete() { [[ -s "$entry/jwt-es256.key" && -s "$entry/jwt-es256.pub" ]]; }
if complete; then
  exit 0
fi
lock_entry "$entry"
if complete; then
  exit 0
fi
say "dev keys: creating the token signing key pair (ES256)"
command -v openssl >/dev/null || fail dev-keys "$log" "openssl is needed to create the key pair"
rm -rf "$entry.partial"
(
  umask 077
  mkdir -p "$entry.partial"
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$entry.partial/jwt-es256.key"
  openssl pkey -in "$entry.partial/jwt-es256.key" -pubout -out "$entry.partial/jwt-es256.pub"
) >>"$log" 2>&1 || { rm -rf "$entry.partial"; fail dev-keys "$log" "openssl could not create the key pair"; }
chmod 600 "$entry.partial/jwt-es256.key"
chmod 644 "$entry.partial/jwt-es256.pub"
chmod 700 "$entry.partial"
mv "$entry.partial" "$entry"
