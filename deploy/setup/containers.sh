#!/usr/bin/env bash
# Installs what building and running images without Docker needs, from Debian: buildah (builds
# from a Containerfile), podman (runs an image: `make images` checks each one), runc, skopeo
# (copies images between stores and archives), mmdebstrap (the Debian base, deploy/setup/images.sh)
# and slirp4netns (the checks' user-mode network: no bridge, no iptables rule on the host).
# Then configures podman and buildah for this machine (rootful, no systemd, cgroups v1):
#   - runtime runc: crun refuses this VM's hybrid cgroups ("cgroups in hybrid mode not supported");
#   - cgroup_manager cgroupfs, events_logger file: there is no systemd (nor journald);
#   - default ulimits no higher than what podman itself runs with: podman raises nofile and nproc
#     for root containers by default, and as this VM's root lacks CAP_SYS_RESOURCE, raising a
#     limit fails ("error setting rlimit type 6: operation not permitted"). podman 4.3 runs with
#     nproc 32768 here (below the shell's 96367): any higher value is refused too.
# A no-op (well under a second) when all is in place.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

log="$LOG_DIR/containers-setup.log"
packages=(buildah podman runc skopeo mmdebstrap slirp4netns uidmap)
conf_dir=/etc/containers/containers.conf.d
conf="$conf_dir/50-order-platform.conf"

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || echo "$p"
  done
}

# The hard limits, which no container may exceed (the kernel refuses to raise them).
PODMAN_NPROC=32768
wanted_conf() {
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  [[ "$nofile" == unlimited ]] && nofile=1048576
  [[ "$nproc" == unlimited || "$nproc" -gt $PODMAN_NPROC ]] && nproc=$PODMAN_NPROC
  cat <<EOF
# Written by deploy/setup/containers.sh (order-platform): podman and buildah on this machine.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]})); then
  [[ $(id -u) == 0 ]] || fail containers "$log" "installing ${missing[*]} needs root (apt-get)"
  say "containers: installing ${missing[*]} from Debian (log: $log)"
  start=$SECONDS
  # Another set-up may hold dpkg's lock (the cluster set-up installs from Debian too): wait for it.
  with_progress apt "$log" apt-get -o DPkg::Lock::Timeout=600 update -q \
    || fail containers "$log" "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive with_progress apt "$log" \
      apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" \
    || fail containers "$log" "apt-get install ${missing[*]} failed"
  say "containers: installed in $((SECONDS - start))s"
fi

if [[ ! -f "$conf" ]] || ! diff -q <(wanted_conf) "$conf" >/dev/null; then
  mkdir -p "$conf_dir"
  wanted_conf >"$conf"
  say "containers: wrote $conf (runc, cgroupfs, file events, ulimits)"
fi

podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Host.EventLogger}}' \
    >>"$log" 2>&1 || fail containers "$log" "podman does not start (podman info failed)"
read -r runtime manager events < <(tail -n 1 "$log")
[[ "$runtime $manager $events" == "runc cgroupfs file" ]] \
  || fail containers "$log" "podman ignores $conf: runtime=$runtime cgroups=$manager events=$events"
