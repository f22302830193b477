#!/usr/bin/env bash
# Builds what `make k8s-check` (tests/k8s) needs, from the Go module proxy: kube-apiserver (a real
# API server for the server-side dry run of deploy/k8s), the etcd it stores into, and helm (to
# render and lint the chart). Each is cached by version outside the repository:
#   $CACHE_DIR/kube-apiserver-$KUBE_VERSION/kube-apiserver
#   $CACHE_DIR/etcd-$ETCD_VERSION/etcd
#   $CACHE_DIR/helm-$HELM_VERSION/helm
# Builds run at nice 19 (the machine is shared). install.sh calls this only with WITH_KUBE=1.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
source "$(dirname "${BASH_SOURCE[0]}")/kubelib.sh"

command -v go >/dev/null || fail kube "$LOG_DIR/kube-build.log" "Go is required to build kube-apiserver, etcd and helm"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

build_apiserver() {
  local entry="$CACHE_DIR/kube-apiserver-$KUBE_VERSION" log="$LOG_DIR/kube-apiserver-build.log"
  [[ -x $entry/kube-apiserver ]] && return 0
  lock_entry "$entry"
  [[ -x $entry/kube-apiserver ]] && return 0
  : >"$log"
  local partial="$entry.partial" start=$SECONDS
  rm -rf "$partial" && mkdir -p "$partial/src"
  say "kube-apiserver: building $KUBE_VERSION from the Go module proxy (a long first build on 2 cores; log: $log)"
  write_kube_wrapper kube-apiserver "$log" "$partial/src"
  wrapper_build kube-apiserver "$log" "$partial/src" "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBE_VERSION" \
    "$partial/kube-apiserver" "$(kube_ldflags)"
  local got
  got=$("$partial/kube-apiserver" --version 2>>"$log") || fail kube-apiserver "$log" "the built kube-apiserver does not start"
  [[ $got == "Kubernetes v$KUBE_VERSION" ]] || fail kube-apiserver "$log" "kube-apiserver --version printed '$got', expected v$KUBE_VERSION"
  rm -rf "$partial/src" "$entry" && mv "$partial" "$entry"
  say "kube-apiserver: $KUBE_VERSION ready in $entry ($((SECONDS - start))s)"
}

build_etcd() {
  local entry="$CACHE_DIR/etcd-$ETCD_VERSION" log="$LOG_DIR/etcd-build.log"
  [[ -x $entry/etcd ]] && return 0
  lock_entry "$entry"
  [[ -x $entry/etcd ]] && return 0
  : >"$log"
  local partial="$entry.partial" start=$SECONDS
  rm -rf "$partial" && mkdir -p "$partial/src"
  say "etcd: building $ETCD_VERSION from the Go module proxy (log: $log)"
  # etcd's server module replaces its sibling modules with relative paths, so `go install` is
  # refused: a wrapper module requires it instead.
  printf 'module order-platform/etcd-build\n\ngo 1.24\n' >"$partial/src/go.mod"
  wrapper_build etcd "$log" "$partial/src" "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" \
    "$partial/etcd" "-s -w"
  local got
  got=$("$partial/etcd" --version 2>>"$log") || fail etcd "$log" "the built etcd does not start"
  [[ $got == *"etcd Version: $ETCD_VERSION"* ]] || fail etcd "$log" "etcd --version printed '$got', expected $ETCD_VERSION"
  rm -rf "$partial/src" "$entry" && mv "$partial" "$entry"
  say "etcd: $ETCD_VERSION ready in $entry ($((SECONDS - start))s)"
}

build_helm() {
  local entry="$CACHE_DIR/helm-$HELM_VERSION" log="$LOG_DIR/helm-build.log"
  [[ -x $entry/helm ]] && return 0
  lock_entry "$entry"
  [[ -x $entry/helm ]] && return 0
  : >"$log"
  local partial="$entry.partial" start=$SECONDS
  rm -rf "$partial" && mkdir -p "$partial"
  say "helm: building $HELM_VERSION from the Go module proxy (log: $log)"
  GOBIN="$partial/gobin" with_progress helm "$log" nice -n 19 go install \
      -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION" \
      "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION" \
    || fail helm "$log" "go install helm.sh/helm/v3/cmd/helm@v$HELM_VERSION failed"
  mv "$partial/gobin/helm" "$partial/helm" && rm -rf "$partial/gobin"
  local got
  got=$("$partial/helm" version --short 2>>"$log") || fail helm "$log" "the built helm does not start"
  [[ $got == "v$HELM_VERSION"* ]] || fail helm "$log" "helm version printed '$got', expected v$HELM_VERSION"
  rm -rf "$entry" && mv "$partial" "$entry"
  say "helm: $HELM_VERSION ready in $entry ($((SECONDS - start))s)"
}

build_etcd
build_helm
build_apiserver
bash "$(dirname "${BASH_SOURCE[0]}")/strimzi.sh"  # the Strimzi CRDs the dry run installs
