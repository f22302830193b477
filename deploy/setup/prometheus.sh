#!/usr/bin/env bash
# Fetches the Prometheus server (make lag: tests/lag runs the alert rules of
# deploy/prometheus-rules.yml in a real Prometheus against the stack's lag exporter) from
# Debian's `prometheus` package without installing the package (no service, no user): the .deb
# is downloaded and only the server binary kept. Same package as promtool.sh.
# Result: $CACHE_DIR/prometheus-<package version>/prometheus; prints that path.
# The version is apt's candidate, or PROMTOOL_DEB_VERSION if set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/prometheus-setup.log"
candidate() { apt-cache policy prometheus 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}'; }
newest_cached() { compgen -G "$CACHE_DIR/prometheus-*/prometheus" | sort -V | tail -n 1; }

version="${PROMTOOL_DEB_VERSION:-$(candidate)}"
if [[ -z $version ]]; then
  if cached=$(newest_cached) && [[ -n $cached ]]; then echo "$cached"; exit 0; fi
  [[ $(id -u) == 0 ]] || fail prometheus "$log" "apt knows no prometheus package; run as root (apt-get update)"
  : >"$log"
  with_progress prometheus "$log" apt-get update || fail prometheus "$log" "apt-get update failed"
  version=$(candidate)
  [[ -n $version ]] || fail prometheus "$log" "apt has no prometheus package for this system"
fi

entry="$CACHE_DIR/prometheus-$version"
complete() { [[ -x "$entry/prometheus" ]]; }
if ! complete; then
  lock_entry "$entry"
fi
if ! complete; then
  command -v dpkg-deb >/dev/null || fail prometheus "$log" "dpkg-deb is required (Debian or Ubuntu)"
  : >"$log"
  partial="$entry.partial"
  rm -rf "$partial"
  mkdir -p "$partial/deb"
  say "prometheus: downloading the prometheus $version package, to keep its server (log: $log)"
  if ! (cd "$partial/deb" && with_progress prometheus "$log" apt-get download "prometheus=$version"); then
    [[ $(id -u) == 0 ]] || fail prometheus "$log" "apt-get download prometheus=$version failed"
    with_progress prometheus "$log" apt-get update \
      && (cd "$partial/deb" && with_progress prometheus "$log" apt-get download "prometheus=$version") \
      || fail prometheus "$log" "apt-get download prometheus=$version failed"
  fi
  dpkg-deb -x "$partial"/deb/prometheus_*.deb "$partial/pkg" >>"$log" 2>&1 \
    || fail prometheus "$log" "could not unpack the prometheus package"
  mv "$partial/pkg/usr/bin/prometheus" "$partial/prometheus"
  rm -rf "$partial/deb" "$partial/pkg"
  "$partial/prometheus" --version >>"$log" 2>&1 || fail prometheus "$log" "the extracted prometheus does not run"
  rm -rf "$entry" && mv "$partial" "$entry"
  say "prometheus: $version ready in $entry"
fi
echo "$entry/prometheus"
