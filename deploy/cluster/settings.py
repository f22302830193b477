"""Where the single-node cluster keeps things and which addresses it uses.

Everything the cluster writes at run time (certificates, etcd's data, containerd's and the
kubelet's directories, logs, PIDs) lives in one state directory, `.run/k8s` (git ignores
`.run`). The addresses are private ranges on a bridge the project creates; nothing routes them
off the machine (network.py).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from deploy.stack.paths import CACHE_DIR, ROOT, pinned_versions

STATE = Path(os.environ.get("K8S_STATE_DIR", ROOT / ".run" / "k8s"))
LOGS = STATE / "logs"
PIDS = STATE / "pids"
PKI = STATE / "pki"
CONF = STATE / "conf"
IMAGES = CACHE_DIR / "images"

NODE_NAME = "op-node"
BRIDGE = "opk8s0"
NODE_IP = "10.201.0.1"  # the bridge's address: the API server and the kubelet listen here
POD_CIDR = "10.201.0.0/16"  # the bridge's subnet: every pod address is on the bridge
SERVICE_CIDR = "10.202.0.0/16"
API_SERVICE_IP = "10.202.0.1"
DNS_SERVICE_IP = "10.202.0.10"
CLUSTER_DOMAIN = "cluster.local"

# Ports chosen away from the defaults, so a kube-apiserver, etcd or Dapr scheduler that another
# job runs on this machine cannot clash with them.
ETCD_CLIENT = 23790
ETCD_PEER = 23800
API_PORT = 16443
KUBELET_PORT = 20250
KUBELET_HEALTHZ = 20248
CONTROLLER_MANAGER_PORT = 20257
SCHEDULER_PORT = 20259
PROXY_HEALTHZ = 20256
PROXY_METRICS = 20249

API_URL = f"https://{NODE_IP}:{API_PORT}"
CONTAINERD_SOCKET = STATE / "containerd" / "containerd.sock"
CNI_BIN = Path("/usr/lib/cni")  # Debian's containernetworking-plugins
CTR_NAMESPACE = "k8s.io"  # the containerd namespace the CRI plugin uses


def versions() -> dict[str, str]:
    return pinned_versions()


def binary(name: str) -> Path:
    """A binary the set-up scripts built into the cache (deploy/setup/k8s-node.sh)."""
    v = versions()
    entries = {
        "etcd": f"etcd-{v['ETCD_VERSION']}",
        "kube-apiserver": f"kube-apiserver-{v['KUBE_VERSION']}",
        "helm": f"helm-{v['HELM_VERSION']}",
        "coredns": f"coredns-{v['COREDNS_VERSION']}",
    }
    entry = entries.get(name, f"kube-node-{v['KUBE_VERSION']}")
    return CACHE_DIR / entry / name


def dapr_chart() -> Path:
    """Dapr's own Helm chart, from the github.com/dapr/dapr module the runtime is built from."""
    gomodcache = subprocess.run(
        ["go", "env", "GOMODCACHE"], capture_output=True, text=True, check=True
    ).stdout.strip()
    return Path(gomodcache) / f"github.com/dapr/dapr@v{versions()['DAPR_VERSION']}/charts/dapr"
