#!/usr/bin/env bash
# Steps 3 and 4 of the README's "Deploying to a cluster", as one script that `make k8s-e2e`
# runs against the cluster of `make k8s-up`: the Secrets the chart reads, each created only if
# absent (a second run keeps the passwords and tokens the pods already use), then the chart.
#
#   AUTH_PUBLIC_KEY=<your IdP's P-256 public key, PEM> deploy/k8s/install.sh [helm args...]
#
# kubectl and helm from PATH (or KUBECTL / HELM), the cluster from KUBECONFIG, the namespace
# NAMESPACE (default order-platform). Extra arguments go to `helm upgrade --install`.
set -euo pipefail
chart="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/order-platform"
kubectl=${KUBECTL:-kubectl} helm=${HELM:-helm} ns=${NAMESPACE:-order-platform}
[[ -r ${AUTH_PUBLIC_KEY:-} ]] || { echo "AUTH_PUBLIC_KEY must name a readable PEM file" >&2; exit 2; }

secret() {  # secret NAME ARGS...: create it unless it exists
  "$kubectl" -n "$ns" get secret "$1" >/dev/null 2>&1 && return 0
  "$kubectl" -n "$ns" create secret generic "$@" >/dev/null
  echo "secret $1 created"
}

"$kubectl" get namespace "$ns" >/dev/null 2>&1 || "$kubectl" create namespace "$ns"
secret order-platform-postgres --from-literal=password="$(openssl rand -hex 24)"
for app in gateway order-service inventory-service payment-service notification-service; do
  secret "$app-dapr-api-token" --from-literal=token="$(openssl rand -hex 32)"
  [[ $app == gateway ]] || secret "$app-app-api-token" --from-literal=token="$(openssl rand -hex 32)"
done
secret order-platform-gateway-auth --from-file=jwt-es256.pub="$AUTH_PUBLIC_KEY"
"$helm" upgrade --install order-platform "$chart" -n "$ns" --wait --timeout 10m "$@"
