#!/usr/bin/env bash
# Everything `make k8s-up` runs, from registries, cached by version outside the repository:
#   Debian packages (k8s-packages.sh): containerd, runc, CNI plugins, iptables, conntrack, ...
#   kube.sh: etcd, helm, kube-apiserver
#   $CACHE_DIR/kube-node-$KUBE_VERSION/{kubelet,kube-controller-manager,kube-scheduler,kube-proxy,kubectl}
#   $CACHE_DIR/coredns-$COREDNS_VERSION/coredns
#   $CACHE_DIR/dapr-k8s-$DAPR_VERSION/{operator,injector} (dapr-k8s.sh), Dapr's chart (module cache)
#   the images (k8s-images.sh)
# Builds run at nice 19 (the machine is shared), one after another.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/versions.env"
source "$(dirname "${BASH_SOURCE[0]}")/kubelib.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false
node_commands=(kubelet kube-controller-manager kube-scheduler kube-proxy kubectl)

node_complete() {
  local cmd
  for cmd in "${node_commands[@]}"; do [[ -x $1/$cmd ]] || return 1; done
}

# The node's commands from one wrapper module (they share most packages with each other and
# with kube-apiserver, whose build fills the Go build cache first).
build_node() {
  local entry="$CACHE_DIR/kube-node-$KUBE_VERSION" log="$LOG_DIR/kube-node-build.log"
  node_complete "$entry" && return 0
  lock_entry "$entry"
  node_complete "$entry" && return 0
  command -v go >/dev/null || fail kube-node "$log" "Go is required to build the Kubernetes node"
  : >"$log"
  local partial="$entry.partial" start=$SECONDS cmd pkgs=()
  rm -rf "$partial" && mkdir -p "$partial/src"
  say "kube-node: building ${node_commands[*]} $KUBE_VERSION (log: $log)"
  write_kube_wrapper kube-node "$log" "$partial/src"
  for cmd in "${node_commands[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$cmd"); done
  (cd "$partial/src" && with_progress "kube-node (resolve modules)" "$log" \
      go get "${pkgs[@]/%/@v$KUBE_VERSION}") || fail kube-node "$log" "go get of the node commands failed"
  # One command at a time (the machine is shared); each after the first reuses most packages.
  local step
  for cmd in "${node_commands[@]}"; do
    step=$SECONDS
    (cd "$partial/src" && with_progress "$cmd (build)" "$log" \
        nice -n 19 go build -trimpath -ldflags "$(kube_ldflags)" -o "$partial/$cmd" "k8s.io/kubernetes/cmd/$cmd") \
      || fail kube-node "$log" "go build of $cmd failed"
    say "kube-node: $cmd built in $((SECONDS - step))s"
  done
  for cmd in kubelet kube-controller-manager kube-scheduler kube-proxy; do
    [[ $("$partial/$cmd" --version 2>>"$log") == "Kubernetes v$KUBE_VERSION" ]] \
      || fail kube-node "$log" "$cmd --version does not print Kubernetes v$KUBE_VERSION"
  done
  "$partial/kubectl" version --client >>"$log" 2>&1 || fail kube-node "$log" "the built kubectl does not start"
  rm -rf "$partial/src" "$entry" && mv "$partial" "$entry"
  say "kube-node: $KUBE_VERSION ready in $entry ($((SECONDS - start))s)"
}

# CoreDNS's go.mod has no replace lines: `go install module@version` builds it.
build_coredns() {
  local entry="$CACHE_DIR/coredns-$COREDNS_VERSION" log="$LOG_DIR/coredns-build.log"
  [[ -x $entry/coredns ]] && return 0
  lock_entry "$entry"
  [[ -x $entry/coredns ]] && return 0
  : >"$log"
  local partial="$entry.partial" start=$SECONDS
  rm -rf "$partial" && mkdir -p "$partial"
  say "coredns: building $COREDNS_VERSION from the Go module proxy (log: $log)"
  GOBIN="$partial/gobin" with_progress coredns "$log" nice -n 19 go install -trimpath -ldflags "-s -w" \
      "github.com/coredns/coredns@v$COREDNS_VERSION" \
    || fail coredns "$log" "go install github.com/coredns/coredns@v$COREDNS_VERSION failed"
  mv "$partial/gobin/coredns" "$partial/coredns" && rm -rf "$partial/gobin"
  [[ $("$partial/coredns" -version 2>>"$log") == *"CoreDNS-$COREDNS_VERSION"* ]] \
    || fail coredns "$log" "coredns -version does not print CoreDNS-$COREDNS_VERSION"
  rm -rf "$entry" && mv "$partial" "$entry"
  say "coredns: $COREDNS_VERSION ready in $entry ($((SECONDS - start))s)"
}

bash "$here/k8s-packages.sh"
bash "$here/kube.sh"
build_node
build_coredns
bash "$here/dapr.sh"
bash "$here/dapr-k8s.sh"
# Dapr's Helm chart is read from the module cache (charts/dapr of the same module version),
# which a cached runtime build does not need: fetch the module if the cache lost it.
go mod download "github.com/dapr/dapr@v$DAPR_VERSION" >>"$LOG_DIR/dapr-k8s-build.log" 2>&1 \
  || fail dapr-k8s "$LOG_DIR/dapr-k8s-build.log" "could not download github.com/dapr/dapr@v$DAPR_VERSION (its Helm chart)"
[[ ${K8S_NO_IMAGES:-} == 1 ]] || bash "$here/k8s-images.sh"
