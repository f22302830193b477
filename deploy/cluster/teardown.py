"""`k8s-down`: stops everything `k8s-up` started and removes what it made (pods, mounts,
links, firewall chains, cgroups, kernel settings), then checks that nothing is left."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

from deploy.cluster import addons, network, procs, settings

S = settings
# Started in this order; stopped in the reverse.
ORDER = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "containerd",
    "kubelet",
    "kube-proxy",
]
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _drain_pods() -> None:
    """With the controllers stopped (nothing recreates pods), deletes every pod and lets the
    kubelet stop them: it tears down each sandbox's network (CNI DEL) and namespaces."""
    if not (procs.running("kube-apiserver") and procs.running("kubelet")):
        return
    addons.kubectl("delete", "pods", "--all", "-A", "--grace-period=5", "--wait=false", check=False)
    procs.wait_for(
        lambda: not addons.kubectl("get", "pods", "-A", "-o", "name", check=False).stdout.strip(),
        90,
        interval=1,
    )


def _remove_containers() -> None:
    if not procs.running("containerd"):
        return
    for task in addons.ctr("tasks", "ls", "-q", check=False).stdout.split():
        addons.ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)
        addons.ctr("tasks", "delete", "--force", task, check=False)
    for container in addons.ctr("containers", "ls", "-q", check=False).stdout.split():
        addons.ctr("containers", "delete", container, check=False)


def our_processes() -> list[tuple[int, str]]:
    """Processes of the cluster still running: their command line names the state directory
    (containerd's shims do), their root is a container's (under the state directory), or they
    sit in the kubelet's pod cgroups."""
    state, found = str(S.STATE), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            root = os.readlink(entry / "root")
            cgroups = (entry / "cgroup").read_text()
        except OSError:
            continue
        if state in cmdline or root.startswith(state) or "/kubepods" in cgroups:
            found.append((int(entry.name), cmdline.strip()))
    return found


def our_mounts() -> list[str]:
    state = str(S.STATE)
    mounts = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        target = line.split()[4].encode().decode("unicode_escape")
        if target.startswith(state):
            mounts.append(target)
    return mounts


def unmount_all() -> None:
    for target in sorted(our_mounts(), key=len, reverse=True):
        if procs.run(["umount", target], check=False).returncode != 0:
            procs.run(["umount", "--lazy", target], check=False)


def our_cgroups() -> list[Path]:
    return sorted(CGROUP_ROOT.glob("*/kubepods*"))


def _remove_cgroups() -> None:
    for top in our_cgroups():
        for directory in sorted(top.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir():
                directory.rmdir()
        top.rmdir()


def _remove_log_links() -> None:
    links = Path("/var/log/containers")
    for link in links.glob("*.log") if links.is_dir() else []:
        if link.is_symlink() and os.readlink(link).startswith(str(S.STATE)):
            link.unlink()


def down() -> list[str]:
    for name in ("kube-controller-manager", "kube-scheduler"):
        procs.stop(name)
    _drain_pods()
    for name in ("kubelet", "kube-proxy"):
        procs.stop(name)
    if S.binary("kube-proxy").exists() and network.leftovers():
        procs.run([str(S.binary("kube-proxy")), "--cleanup"], check=False)
    network.remove_kube_chains()
    _remove_containers()
    for name in reversed(ORDER):
        procs.stop(name)
    for pid, _cmdline in our_processes():
        os.kill(pid, signal.SIGKILL)
    procs.wait_for(lambda: not our_processes(), 10)
    unmount_all()
    _remove_cgroups()
    network.remove()
    _remove_log_links()
    if S.STATE.exists():
        for child in S.STATE.iterdir():
            if child != S.LOGS:
                shutil.rmtree(child) if child.is_dir() else child.unlink()
    return leftovers()


def leftovers() -> list[str]:
    found = [f"process {pid}: {cmd[:120]}" for pid, cmd in our_processes()]
    found += [f"mount {m}" for m in our_mounts()]
    found += [f"cgroup {c}" for c in our_cgroups()]
    return found + network.leftovers()
