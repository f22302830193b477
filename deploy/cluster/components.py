"""Starting each component of the node, in order, and waiting until it is ready."""

from __future__ import annotations

import ssl

import httpx

from deploy.cluster import configs, procs, settings
from deploy.cluster.settings import binary

S = settings


def _ok(url: str, **kwargs) -> bool:
    try:
        return httpx.get(url, timeout=2, **kwargs).status_code == 200
    except httpx.HTTPError:
        return False


def api_client() -> httpx.Client:
    context = ssl.create_default_context(cafile=str(S.PKI / "ca.crt"))
    context.load_cert_chain(S.PKI / "admin.crt", S.PKI / "admin.key")
    return httpx.Client(base_url=S.API_URL, verify=context, timeout=10)


def _api_ready() -> bool:
    try:
        with api_client() as api:
            return api.get("/readyz").text == "ok"
    except httpx.HTTPError:
        return False


def etcd() -> None:
    url = f"http://127.0.0.1:{S.ETCD_CLIENT}"
    peer = f"http://127.0.0.1:{S.ETCD_PEER}"
    procs.start(
        "etcd",
        [
            str(binary("etcd")),
            "--name=op-k8s",
            f"--data-dir={S.STATE / 'etcd'}",
            f"--listen-client-urls={url}",
            f"--advertise-client-urls={url}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=op-k8s={peer}",
            "--log-level=warn",
        ],
    )
    procs.wait_ready("etcd", lambda: _ok(f"{url}/health"), 60)


def apiserver() -> None:
    pki = S.PKI
    procs.start(
        "kube-apiserver",
        [
            str(binary("kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{S.ETCD_CLIENT}",
            f"--bind-address={S.NODE_IP}",
            f"--advertise-address={S.NODE_IP}",
            f"--secure-port={S.API_PORT}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--kubelet-client-certificate={pki / 'apiserver-kubelet-client.crt'}",
            f"--kubelet-client-key={pki / 'apiserver-kubelet-client.key'}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--cert-dir={S.STATE / 'apiserver'}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            f"--service-account-issuer=https://kubernetes.default.svc.{S.CLUSTER_DOMAIN}",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            f"--service-cluster-ip-range={S.SERVICE_CIDR}",
            "--profiling=false",
        ],
    )
    procs.wait_ready("kube-apiserver", _api_ready, 180)


def controller_manager() -> None:
    kubeconfig = str(configs.kubeconfig("controller-manager"))
    procs.start(
        "kube-controller-manager",
        [
            str(binary("kube-controller-manager")),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={S.CONTROLLER_MANAGER_PORT}",
            f"--cert-dir={S.STATE / 'controller-manager'}",
            f"--service-account-private-key-file={S.PKI / 'sa.key'}",
            f"--root-ca-file={S.PKI / 'ca.crt'}",
            f"--cluster-signing-cert-file={S.PKI / 'ca.crt'}",
            f"--cluster-signing-key-file={S.PKI / 'ca.key'}",
            "--use-service-account-credentials=true",
            "--allocate-node-cidrs=false",
            "--leader-elect=false",
            "--profiling=false",
        ],
    )
    url = f"https://127.0.0.1:{S.CONTROLLER_MANAGER_PORT}/healthz"
    procs.wait_ready("kube-controller-manager", lambda: _ok(url, verify=False), 120)


def scheduler() -> None:
    kubeconfig = str(configs.kubeconfig("scheduler"))
    procs.start(
        "kube-scheduler",
        [
            str(binary("kube-scheduler")),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={S.SCHEDULER_PORT}",
            f"--cert-dir={S.STATE / 'scheduler'}",
            "--leader-elect=false",
            "--profiling=false",
        ],
    )
    url = f"https://127.0.0.1:{S.SCHEDULER_PORT}/healthz"
    procs.wait_ready("kube-scheduler", lambda: _ok(url, verify=False), 120)


def containerd() -> None:
    procs.start("containerd", ["/usr/bin/containerd", f"--config={S.CONF / 'containerd.toml'}"])
    ctr = ["ctr", f"--address={S.CONTAINERD_SOCKET}", "version"]
    procs.wait_ready("containerd", lambda: procs.run(ctr, check=False).returncode == 0, 60)


def kubelet() -> None:
    procs.start(
        "kubelet",
        [
            str(binary("kubelet")),
            f"--config={S.CONF / 'kubelet.yaml'}",
            f"--kubeconfig={configs.kubeconfig('kubelet')}",
            f"--root-dir={S.STATE / 'kubelet'}",
            f"--cert-dir={S.STATE / 'kubelet' / 'pki'}",
            f"--node-ip={S.NODE_IP}",
            f"--hostname-override={S.NODE_NAME}",
        ],
    )
    url = f"http://127.0.0.1:{S.KUBELET_HEALTHZ}/healthz"
    procs.wait_ready("kubelet", lambda: _ok(url), 120)


def proxy() -> None:
    procs.start(
        "kube-proxy",
        [str(binary("kube-proxy")), f"--config={S.CONF / 'kube-proxy.yaml'}"],
    )
    url = f"http://127.0.0.1:{S.PROXY_HEALTHZ}/healthz"
    procs.wait_ready("kube-proxy", lambda: _ok(url), 120)
