"""The node's network: a bridge the project creates (the pods' veths join it), the kernel
settings the node needs (saved at `up`, put back at `down`), and a firewall chain that drops
anything from or to the pod network that would cross another interface: pod and Service
traffic stays on this machine."""

from __future__ import annotations

import json
from pathlib import Path

from deploy.cluster import settings
from deploy.cluster.procs import run

S = settings
CHAIN = "OP-K8S-ISOLATE"
SAVED_SYSCTLS = S.STATE / "sysctls.json"
# What the node changes: forwarding (pod <-> Service), bridged traffic through iptables
# (kube-proxy), and the tunables the kubelet sets at start.
SYSCTLS = [
    "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables",
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
]


def _sysctl(name: str) -> Path:
    return Path("/proc/sys") / name


def save_sysctls() -> None:
    if not SAVED_SYSCTLS.exists():  # a second `up` must not save the node's own values
        values = {n: _sysctl(n).read_text().strip() for n in SYSCTLS if _sysctl(n).exists()}
        SAVED_SYSCTLS.write_text(json.dumps(values))
    _sysctl("net/ipv4/ip_forward").write_text("1")
    _sysctl("net/bridge/bridge-nf-call-iptables").write_text("1")


def restore_sysctls() -> None:
    if SAVED_SYSCTLS.exists():
        for name, value in json.loads(SAVED_SYSCTLS.read_text()).items():
            _sysctl(name).write_text(value)
        SAVED_SYSCTLS.unlink()


def _iptables(*args: str, check: bool = True):
    return run(["iptables", "-w", "5", *args], check=check)


def create() -> None:
    if run(["ip", "link", "show", S.BRIDGE], check=False).returncode != 0:
        run(["ip", "link", "add", S.BRIDGE, "type", "bridge"])
    prefix = S.POD_CIDR.split("/")[1]
    run(["ip", "addr", "replace", f"{S.NODE_IP}/{prefix}", "dev", S.BRIDGE])
    run(["ip", "link", "set", S.BRIDGE, "up"])
    # A Service address nothing answers for goes to the bridge, never to the default route.
    run(["ip", "route", "replace", S.SERVICE_CIDR, "dev", S.BRIDGE, "src", S.NODE_IP])
    save_sysctls()
    if _iptables("-nL", CHAIN, check=False).returncode != 0:
        _iptables("-N", CHAIN)
    _iptables("-F", CHAIN)
    for direction, iface in (("-s", "-o"), ("-d", "-i")):
        for cidr in (S.POD_CIDR, S.SERVICE_CIDR):
            _iptables("-A", CHAIN, direction, cidr, "!", iface, S.BRIDGE, "-j", "DROP")
    if _iptables("-C", "FORWARD", "-j", CHAIN, check=False).returncode != 0:
        _iptables("-I", "FORWARD", "1", "-j", CHAIN)


def bridge_ports() -> list[str]:
    out = run(["ip", "-j", "link", "show", "master", S.BRIDGE], check=False)
    return [link["ifname"] for link in json.loads(out.stdout or "[]")]


def remove() -> None:
    for port in bridge_ports():
        run(["ip", "link", "del", port], check=False)
    run(["ip", "link", "del", S.BRIDGE], check=False)  # its address and routes go with it
    while _iptables("-D", "FORWARD", "-j", CHAIN, check=False).returncode == 0:
        pass
    _iptables("-F", CHAIN, check=False)
    _iptables("-X", CHAIN, check=False)
    restore_sysctls()


def leftovers() -> list[str]:
    """What of the node's network is still there (empty once `down` has run)."""
    found = []
    if run(["ip", "link", "show", S.BRIDGE], check=False).returncode == 0:
        found.append(f"link {S.BRIDGE}")
    found += [f"veth {p}" for p in bridge_ports()]
    routes = run(["ip", "route", "show", S.SERVICE_CIDR], check=False).stdout.strip()
    if routes:
        found.append(f"route {routes}")
    for cmd in ("iptables-save", "ip6tables-save"):
        dump = run([cmd], check=False).stdout
        chains = {ln.split()[0][1:] for ln in dump.splitlines() if ln.startswith(":")}
        ours = sorted(c for c in chains if c.startswith(("KUBE-", CHAIN)))
        found += [f"{cmd} chain {c}" for c in ours]
    return found


def remove_kube_chains() -> None:
    """Chains the kubelet made (KUBE-KUBELET-CANARY, KUBE-IPTABLES-HINT, ...) and any
    kube-proxy left: rules jumping to them first, then the chains."""
    for save, tool in (("iptables-save", "iptables"), ("ip6tables-save", "ip6tables")):
        for table in ("filter", "nat", "mangle"):
            dump = run([save, "-t", table], check=False).stdout.splitlines()
            chains = [ln.split()[0][1:] for ln in dump if ln.startswith(":KUBE-")]
            for line in dump:
                words = line.split()
                if (
                    words[:1] == ["-A"]
                    and not words[1].startswith("KUBE-")
                    and any(w.startswith("KUBE-") for w in words[2:])
                ):
                    run([tool, "-w", "5", "-t", table, "-D", *words[1:]], check=False)
            for chain in chains:
                run([tool, "-w", "5", "-t", table, "-F", chain], check=False)
            for chain in chains:
                run([tool, "-w", "5", "-t", table, "-X", chain], check=False)
