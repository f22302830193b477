#!/usr/bin/env bash
# promtool (checks deploy/prometheus.yml and the alert rules in the tests), from Debian's
# `prometheus` package: prometheus-deb.sh. Prints $CACHE_DIR/promtool-<version>/promtool.
exec bash "$(dirname "${BASH_SOURCE[0]}")/prometheus-deb.sh" promtool
