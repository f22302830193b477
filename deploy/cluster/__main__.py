"""make k8s-up / k8s-down / k8s-status: a single-node Kubernetes run by the project.

python -m deploy.cluster up      # starts it all, returns once Dapr's control plane is Ready
python -m deploy.cluster down    # stops and removes everything `up` made
python -m deploy.cluster status  # its processes (RSS) and what is left after a `down`
python -m deploy.cluster load-images  # the platform's images (`make images`) into the node
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from deploy.cluster import (
    addons,
    components,
    configs,
    network,
    pki,
    procs,
    settings,
    teardown,
    usage,
)

S = settings


def _check_socket_path() -> None:
    # A unix socket path is limited to 107 bytes (containerd's ttrpc socket is the longest).
    longest = f"{S.CONTAINERD_SOCKET}.ttrpc"
    if len(longest) > 100:
        raise procs.ClusterError(
            f"[containerd] the state directory's path is too long for a unix socket ({longest});"
            " set K8S_STATE_DIR to a shorter directory"
        )


def up() -> None:
    start = time.monotonic()
    if procs.running("kube-apiserver"):
        raise procs.ClusterError("a cluster is already up: `make k8s-down` first")
    _check_socket_path()
    leftover = teardown.leftovers()
    if leftover:
        listed = "\n".join(leftover)
        raise procs.ClusterError(f"left from an earlier run (make k8s-down):\n{listed}")
    S.STATE.mkdir(parents=True, exist_ok=True)
    pki.write_all()
    configs.write_all()
    network.create()
    steps = [
        ("etcd", components.etcd),
        ("kube-apiserver", components.apiserver),
        ("kube-controller-manager", components.controller_manager),
        ("kube-scheduler", components.scheduler),
        ("containerd", components.containerd),
        ("images", addons.load_images),
        ("kubelet", components.kubelet),
        ("kube-proxy", components.proxy),  # healthy once the kubelet registered the node
    ]
    for name, step in steps:
        step()
        addons.say(f"{name} ready ({time.monotonic() - start:.0f}s)")
    addons.wait(f"node/{S.NODE_NAME}", "condition=Ready", "default", 180, "node")
    addons.say(f"node {S.NODE_NAME} Ready ({time.monotonic() - start:.0f}s)")
    addons.coredns()
    addons.say(f"CoreDNS done ({time.monotonic() - start:.0f}s)")
    addons.dapr()
    addons.say(f"Dapr done ({time.monotonic() - start:.0f}s)")
    took = time.monotonic() - start
    addons.say(f"cluster up in {took:.0f}s; kubeconfig: {configs.kubeconfig('admin')}")


def status() -> int:
    for name, (pid, _program) in sorted(procs.recorded().items()):
        state = "running" if procs.running(name) else "stopped"
        rss = _rss_kib(pid)
        print(f"{name:26} pid {pid:>7} {state:8} {rss / 1024:8.1f} MiB  log {procs.log_path(name)}")
    left = [] if procs.recorded() else teardown.leftovers()
    for item in left:
        print(f"left over: {item}")
    return 1 if left else 0


def _rss_kib(pid: int) -> int:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return 0
    rss = [int(line.split()[1]) for line in lines if line.startswith("VmRSS:")]
    return rss[0] if rss else 0


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else ""
    try:
        if command == "up":
            up()
        elif command == "down":
            left = teardown.down()
            for item in left:
                print(f"left over: {item}", file=sys.stderr)
            addons.say("cluster down, with left-overs" if left else "cluster down: nothing left")
            return 1 if left else 0
        elif command == "status":
            return status()
        elif command == "load-images":
            addons.load_platform_images()
        elif command == "usage":
            print(usage.report(float(argv[2]) if len(argv) > 2 else 60))
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except procs.ClusterError as error:
        print(f"ERROR {error}", file=sys.stderr)
        if command == "up":
            print("`make k8s-down` stops and removes what was started", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
