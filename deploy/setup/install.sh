#!/usr/bin/env bash
# Installs everything the stack needs that is missing; a no-op (about a second) once cached.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
here="$(dirname "${BASH_SOURCE[0]}")"
start=$SECONDS
bash "$here/python.sh"
bash "$here/devkeys.sh"  # bearer tokens: the gateway's public key, `make token`'s private key
bash "$here/dapr.sh"
bash "$here/kafka.sh"
bash "$here/zipkin.sh"
bash "$here/toxiproxy.sh"  # `make test` runs chaos tests (CHAOS=1 stack)
bash "$here/k6.sh"  # `make bench` and the bench subset of `make test`
bash "$here/promtool.sh" >/dev/null
bash "$here/node.sh"  # tests/contracts/ts: the second-language contract check
if [[ "${WITH_BROWSER:-}" == "1" ]]; then
  bash "$here/chromium.sh" >/dev/null  # tests/browser: the console in Debian's Chromium
fi
if [[ "${PROFILE:-}" == "postgres" || "${WITH_POSTGRES:-}" == "1" ]]; then
  bash "$here/postgres.sh" >/dev/null
fi
if [[ "${WITH_COMPAT:-}" == "1" ]]; then
  # make test, make contracts: the compatibility checkers (docs/compatibility.md)
  bash "$here/oasdiff.sh"
  bash "$here/jsoncompat.sh"
fi
if [[ "${WITH_KUBE:-}" == "1" ]]; then
  bash "$here/kube.sh"  # make k8s-check, the k8s step of make test: kube-apiserver, etcd, helm
  bash "$here/k8s-node.sh" >/dev/null  # the Kubernetes subset of make test: the node, Dapr's control plane
fi
say "set-up complete in $((SECONDS - start))s (cache: $CACHE_DIR)"
