#!/usr/bin/env bash
# Fetches promtool (checks deploy/prometheus.yml in the tests) from Debian's `prometheus`
# package without installing the package: the .deb is downloaded and only promtool is kept.
# Result: $CACHE_DIR/promtool-<package version>/promtool; prints that path.
# The version is apt's candidate, or PROMTOOL_DEB_VERSION if set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/promtool-setup.log"
candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'; }
newest_cached() { compgen -G "$CACHE_DIR/promtool-*/promtool" | sort -V | tail -n 1; }

version="${PROMTOOL_DEB_VERSION:-$(candidate)}"
if [[ -z $version ]]; then
  # No package lists (a fresh machine): a promtool fetched earlier will do, else refresh them.
  if cached=$(newest_cached) && [[ -n $cached ]]; then echo "$cached"; exit 0; fi
  [[ $(id -u) == 0 ]] || fail promtool "$log" "apt knows no prometheus package; run as root (apt-get update)"
  : >"$log"
  with_progress promtool "$log" apt-get update || fail promtool "$log" "apt-get update failed"
  version=$(candidate)
  [[ -n $version ]] || fail promtool "$log" "apt has no prometheus package for this system"
fi

entry="$CACHE_DIR/promtool-$version"
complete() { [[ -x "$entry/promtool" ]]; }
if ! complete; then
  lock_entry "$entry"
fi
if ! complete; then
  command -v dpkg-deb >/dev/null || fail promtool "$log" "dpkg-deb is required (Debian or Ubuntu)"
  : >"$log"
  partial="$entry.partial"
  rm -rf "$partial"
  mkdir -p "$partial/deb"
  say "promtool: downloading the prometheus $version package, to keep its promtool (log: $log)"
  # Stale package lists name a file the mirror no longer has: refresh them once, as root.
  if ! (cd "$partial/deb" && with_progress promtool "$log" apt-get download "prometheus=$version"); then
    [[ $(id -u) == 0 ]] || fail promtool "$log" "apt-get download prometheus=$version failed"
    with_progress promtool "$log" apt-get update \
      && (cd "$partial/deb" && with_progress promtool "$log" apt-get download "prometheus=$version") \
      || fail promtool "$log" "apt-get download prometheus=$version failed"
  fi
  dpkg-deb -x "$partial"/deb/prometheus_*.deb "$partial/pkg" >>"$log" 2>&1 \
    || fail promtool "$log" "could not unpack the prometheus package"
  mv "$partial/pkg/usr/bin/promtool" "$partial/promtool"
  rm -rf "$partial/deb" "$partial/pkg"
  "$partial/promtool" --version >>"$log" 2>&1 || fail promtool "$log" "the extracted promtool does not run"
  rm -rf "$entry" && mv "$partial" "$entry"
  say "promtool: $version ready in $entry"
fi
echo "$entry/promtool"
