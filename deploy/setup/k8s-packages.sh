#!/usr/bin/env bash
# Debian packages a single-node cluster (make k8s-up) needs: the container runtime (containerd
# with runc: crun refuses this VM's hybrid cgroups), the CNI plugins (bridge, host-local,
# portmap, loopback), what kubelet and kube-proxy call (iptables, conntrack, socat, ethtool,
# iproute2, mount tools), openssl for the cluster's certificates, buildah and catatonit for the
# images (deploy/setup/k8s-images.sh). Idempotent: installs only what is missing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/k8s-packages.log"
packages=(containerd runc containernetworking-plugins iptables conntrack socat ethtool iproute2
  util-linux mount openssl buildah catatonit)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0
command -v apt-get >/dev/null || fail k8s-packages "$log" "missing ${missing[*]} and no apt-get"
[[ $(id -u) == 0 ]] || fail k8s-packages "$log" "missing ${missing[*]}: run this script as root"
: >"$log"
export DEBIAN_FRONTEND=noninteractive
say "k8s-packages: installing ${missing[*]} (log: $log)"
# The package lists may be missing or stale on a fresh machine: refresh only when needed.
if ! with_progress k8s-packages "$log" apt-get install -y --no-install-recommends "${missing[@]}"; then
  with_progress k8s-packages "$log" apt-get update \
    && with_progress k8s-packages "$log" apt-get install -y --no-install-recommends "${missing[@]}" \
    || fail k8s-packages "$log" "apt-get install ${missing[*]} failed"
fi
# Debian's containerd package starts its own daemon where an init system runs it; the cluster
# runs its own containerd (own socket and directories) and never uses that one.
