#!/usr/bin/env bash
# The Prometheus server (make lag: tests/lag runs deploy/prometheus-rules.yml in a real
# Prometheus against the stack's lag exporter), from Debian's `prometheus` package:
# prometheus-deb.sh. Prints $CACHE_DIR/prometheus-<version>/prometheus.
exec bash "$(dirname "${BASH_SOURCE[0]}")/prometheus-deb.sh" prometheus
