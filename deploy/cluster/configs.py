"""Configuration files of the node's components, written into the state directory."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from deploy.cluster import settings

S = settings


def _kubeconfig(component: str) -> None:
    user = {"client-certificate": str(S.PKI / f"{component}.crt")}
    user["client-key"] = str(S.PKI / f"{component}.key")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "op-k8s",
                "cluster": {"server": S.API_URL, "certificate-authority": str(S.PKI / "ca.crt")},
            }
        ],
        "users": [{"name": component, "user": user}],
        "contexts": [{"name": "op-k8s", "context": {"cluster": "op-k8s", "user": component}}],
        "current-context": "op-k8s",
    }
    path = kubeconfig(component)
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)


def kubeconfig(component: str) -> Path:
    return S.CONF / f"{component}.kubeconfig"


def _containerd() -> str:
    state = S.STATE / "containerd"
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return f"""version = 2
root = "{state}/root"
state = "{state}/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs"]

[grpc]
  address = "{S.CONTAINERD_SOCKET}"
[ttrpc]
  address = "{S.CONTAINERD_SOCKET}.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{state}/opt"

[{cri}]
  sandbox_image = "{pause_image()}"
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true
  disable_hugetlb_controller = true
  tolerate_missing_hugetlb_controller = true
  enable_unprivileged_ports = true
  # Root here lacks CAP_SYS_RESOURCE: no oom_score_adj below the caller's own (runc's init
  # dies on the sandbox's -998), so containerd clamps it as for rootless runs.
  restrict_oom_score_adj = true
[{cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"
[{cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[{cri}.containerd.runtimes.runc.options]
  BinaryName = "/usr/bin/runc"
  SystemdCgroup = false
[{cri}.cni]
  bin_dir = "{S.CNI_BIN}"
  conf_dir = "{S.CONF / "cni"}"
  max_conf_num = 1
"""


def pause_image() -> str:
    return f"localhost/order-platform/pause:{S.versions()['KUBE_VERSION']}"


def _cni() -> dict:
    pod_range = {
        "subnet": S.POD_CIDR,
        "rangeStart": "10.201.1.1",
        "rangeEnd": "10.201.255.254",
        "gateway": S.NODE_IP,
    }
    bridge = {
        "type": "bridge",
        "bridge": S.BRIDGE,
        "isGateway": True,
        "ipMasq": False,  # nothing leaves the machine: no masquerading to outside interfaces
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "ranges": [[pod_range]],
            # Only Services are routed (through the bridge, where kube-proxy's rules apply):
            # no default route, so a pod cannot even try to reach past this machine.
            "routes": [{"dst": S.SERVICE_CIDR}],
            "dataDir": str(S.STATE / "cni-ipam"),
        },
    }
    portmap = {"type": "portmap", "capabilities": {"portMappings": True}}
    return {
        "cniVersion": "1.0.0",
        "name": "op-k8s",
        "plugins": [bridge, portmap, {"type": "loopback"}],
    }


def _kubelet() -> dict:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": S.NODE_IP,
        "port": S.KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": S.KUBELET_HEALTHZ,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(S.PKI / "ca.crt")},
        },
        "authorization": {"mode": "Webhook"},
        # This VM has cgroup v1 (hybrid) and no systemd: the cgroupfs driver, v1 allowed.
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{S.CONTAINERD_SOCKET}",
        "clusterDNS": [S.DNS_SERVICE_IP],
        "clusterDomain": S.CLUSTER_DOMAIN,
        # Pods never get the host's name servers (nothing resolves off the machine).
        "resolvConf": str(S.CONF / "resolv.conf"),
        "podLogsDir": str(S.STATE / "pod-logs"),
        "volumePluginDir": str(S.STATE / "kubelet-plugins"),
        "serializeImagePulls": False,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "5%"},
        "imageGCHighThresholdPercent": 95,
        "rotateCertificates": False,
        "oomScoreAdj": 0,  # no CAP_SYS_RESOURCE here: a negative score is refused
    }


def _proxy() -> dict:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(kubeconfig("proxy"))},
        "hostnameOverride": S.NODE_NAME,
        "bindAddress": S.NODE_IP,
        "healthzBindAddress": f"127.0.0.1:{S.PROXY_HEALTHZ}",
        "metricsBindAddress": f"127.0.0.1:{S.PROXY_METRICS}",
        "mode": "iptables",
        "oomScoreAdj": 0,  # no CAP_SYS_RESOURCE here: a negative score is refused
        "clusterCIDR": S.POD_CIDR,
        "nodePortAddresses": [f"{S.NODE_IP}/32"],
        "iptables": {"localhostNodePorts": False, "masqueradeAll": False},
        # Leave the host's conntrack sysctls as they are.
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
        },
    }


def write_all() -> None:
    (S.CONF / "cni").mkdir(parents=True, exist_ok=True)
    for component in ("admin", "controller-manager", "scheduler", "kubelet", "proxy"):
        _kubeconfig(component)
    (S.CONF / "containerd.toml").write_text(_containerd())
    (S.CONF / "cni" / "10-op-k8s.conflist").write_text(json.dumps(_cni(), indent=2))
    (S.CONF / "kubelet.yaml").write_text(yaml.safe_dump(_kubelet()))
    (S.CONF / "kube-proxy.yaml").write_text(yaml.safe_dump(_proxy()))
    (S.CONF / "resolv.conf").write_text(f"nameserver {S.DNS_SERVICE_IP}\n")
