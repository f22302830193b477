#!/usr/bin/env bash
# Keeps one binary of Debian's `prometheus` package without installing the package (no service,
# no user): the .deb is downloaded, unpacked, and only /usr/bin/<binary> kept.
# Usage: prometheus-deb.sh promtool|prometheus (promtool.sh and prometheus.sh call it).
# Result: $CACHE_DIR/<binary>-<package version>/<binary>; prints that path.
# The version is apt's candidate, or PROMTOOL_DEB_VERSION if set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

binary=$1
[[ $binary == promtool || $binary == prometheus ]] || { echo "usage: $0 promtool|prometheus" >&2; exit 2; }
log="$LOG_DIR/$binary-setup.log"
candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'; }
newest_cached() { compgen -G "$CACHE_DIR/$binary-*/$binary" | sort -V | tail -n 1; }

version="${PROMTOOL_DEB_VERSION:-$(candidate)}"
if [[ -z $version ]]; then
  # No package lists (a fresh machine): a binary fetched earlier will do, else refresh them.
  if cached=$(newest_cached) && [[ -n $cached ]]; then echo "$cached"; exit 0; fi
  [[ $(id -u) == 0 ]] || fail "$binary" "$log" "apt knows no prometheus package; run as root (apt-get update)"
  : >"$log"
  with_progress "$binary" "$log" apt-get update || fail "$binary" "$log" "apt-get update failed"
  version=$(candidate)
  [[ -n $version ]] || fail "$binary" "$log" "apt has no prometheus package for this system"
fi

entry="$CACHE_DIR/$binary-$version"
complete() { [[ -x "$entry/$binary" ]]; }
if ! complete; then
  lock_entry "$entry"
fi
if ! complete; then
  command -v dpkg-deb >/dev/null || fail "$binary" "$log" "dpkg-deb is required (Debian or Ubuntu)"
  : >"$log"
  partial="$entry.partial"
  rm -rf "$partial"
  mkdir -p "$partial/deb"
  say "$binary: downloading the prometheus $version package, to keep its $binary (log: $log)"
  download() { (cd "$partial/deb" && with_progress "$binary" "$log" apt-get download "prometheus=$version"); }
  # Stale package lists name a file the mirror no longer has: refresh them once, as root.
  if ! download; then
    [[ $(id -u) == 0 ]] || fail "$binary" "$log" "apt-get download prometheus=$version failed"
    with_progress "$binary" "$log" apt-get update && download \
      || fail "$binary" "$log" "apt-get download prometheus=$version failed"
  fi
  dpkg-deb -x "$partial"/deb/prometheus_*.deb "$partial/pkg" >>"$log" 2>&1 \
    || fail "$binary" "$log" "could not unpack the prometheus package"
  mv "$partial/pkg/usr/bin/$binary" "$partial/$binary"
  rm -rf "$partial/deb" "$partial/pkg"
  "$partial/$binary" --version >>"$log" 2>&1 || fail "$binary" "$log" "the extracted $binary does not run"
  rm -rf "$entry" && mv "$partial" "$entry"
  say "$binary: $version ready in $entry"
fi
echo "$entry/$binary"
