"""The single-node cluster of `make k8s-up`, proved with real pods: Dapr's control plane from
its own chart, a sidecar injected into an annotated app and given a certificate by Sentry, a
Service reached through kube-proxy from the host, and by name through CoreDNS from another pod,
whose own sidecar invokes the app through Dapr (sidecar to sidecar, mutual TLS)."""

from __future__ import annotations

import time

import httpx
import pytest

from deploy.cluster import settings
from tests.k8s_node.conftest import apply, kubectl, kubectl_json

CONTROL_PLANE = ["dapr-operator", "dapr-sentry", "dapr-placement-server", "dapr-sidecar-injector"]


def _dapr_annotations(app_id: str, app_port: int | None) -> dict[str, str]:
    notes = {"dapr.io/enabled": "true", "dapr.io/app-id": app_id, "dapr.io/log-level": "debug"}
    if app_port:
        notes["dapr.io/app-port"] = str(app_port)
    return notes


def _echo(namespace: str, image: str) -> list[dict]:
    labels = {"app": "echo"}
    container = {
        "name": "echo",
        "image": image,
        "imagePullPolicy": "Never",
        "args": ["serve", ":8080"],
        "ports": [{"containerPort": 8080}],
        "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 2},
    }
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "echo", "namespace": namespace},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels, "annotations": _dapr_annotations("echo", 8080)},
                "spec": {"containers": [container]},
            },
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "echo", "namespace": namespace},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    return [deployment, service]


def sentry_signed() -> int:
    """Certificates Sentry has signed, from its metrics (its pod address, on the bridge)."""
    pod = kubectl_json("get", "pods", "-n", "dapr-system", "-l", "app=dapr-sentry")["items"][0]
    metrics = httpx.get(f"http://{pod['status']['podIP']}:9090/metrics", timeout=10).text
    lines = [ln for ln in metrics.splitlines() if ln.startswith("dapr_sentry_cert_sign_success")]
    assert len(lines) == 1, lines
    return int(float(lines[0].split()[-1]))


@pytest.fixture(scope="module")
def signed_before_echo() -> int:
    return sentry_signed()


@pytest.fixture(scope="module")
def echo(namespace: str, probe_image: str, signed_before_echo: int) -> dict:
    """The annotated app, Available; its pod as the API server reports it."""
    for manifest in _echo(namespace, probe_image):
        apply(manifest)
    kubectl(
        "wait", "-n", namespace, "deployment/echo", "--for=condition=Available", "--timeout=180s"
    )
    pods = kubectl_json("get", "pods", "-n", namespace, "-l", "app=echo")["items"]
    assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
    return pods[0]


def _wait_terminated(namespace: str, pod: str, container: str, timeout: float) -> dict:
    """The container's `terminated` state, once it has ended (the pod's daprd runs on)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = kubectl_json("get", "pod", "-n", namespace, pod).get("status", {})
        for entry in status.get("containerStatuses", []):
            if entry["name"] == container and "terminated" in entry["state"]:
                return entry["state"]["terminated"]
        time.sleep(1)
    raise AssertionError(f"{pod}/{container} still running after {timeout}s")


def _get_once_proxied(url: str, timeout: float) -> httpx.Response:
    """GET URL once kube-proxy has the Service's endpoint in its rules: until then the
    Service has none there and its ClusterIP refuses connections."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=5)
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_node_ready_and_dapr_control_plane_from_its_chart() -> None:
    node = kubectl_json("get", "node", settings.NODE_NAME)
    ready = {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]
    assert ready == "True"
    pods = kubectl_json("get", "pods", "-n", "dapr-system")["items"]
    names = [p["metadata"]["name"] for p in pods]
    for component in [*CONTROL_PLANE, "dapr-scheduler-server"]:
        assert any(n.startswith(component) for n in names), (component, names)
    for pod in pods:
        statuses = pod["status"]["containerStatuses"]
        assert all(s["ready"] for s in statuses), pod["metadata"]["name"]
        assert all(s["image"].startswith("localhost/dapr/") for s in statuses)


def test_annotated_app_gets_a_sidecar_with_a_sentry_certificate(
    echo: dict, namespace: str, signed_before_echo: int
) -> None:
    statuses = {s["name"]: s for s in echo["status"]["containerStatuses"]}
    assert sorted(statuses) == ["daprd", "echo"]  # 2/2: the injector added daprd
    assert all(s["ready"] for s in statuses.values())
    assert statuses["daprd"]["image"].startswith("localhost/dapr/daprd:")
    log = kubectl("logs", "-n", namespace, echo["metadata"]["name"], "-c", "daprd")
    assert "Fetching initial identity" in log, log[-3000:]
    assert "workload identity expiry watcher; cert expires on" in log, log[-3000:]
    assert sentry_signed() > signed_before_echo  # Sentry signed the sidecar's certificate


def test_service_reached_from_the_host_through_kube_proxy(echo: dict, namespace: str) -> None:
    service = kubectl_json("get", "service", "-n", namespace, "echo")
    cluster_ip = service["spec"]["clusterIP"]
    assert cluster_ip.startswith("10.202.")
    answer = _get_once_proxied(f"http://{cluster_ip}/from-host", timeout=30)
    assert answer.status_code == 200
    assert answer.text == f"hello from {echo['metadata']['name']} /from-host\n"


def test_service_by_name_through_coredns_and_dapr_invocation_from_another_pod(
    echo: dict, namespace: str, probe_image: str
) -> None:
    urls = [
        f"http://echo.{namespace}.svc.{settings.CLUSTER_DOMAIN}/by-name",
        "http://echo/by-short-name",  # the pod's search path, from the kubelet's DNS settings
        f"http://localhost:3500/v1.0/invoke/echo.{namespace}/method/through-dapr",
    ]
    client = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "client",
            "namespace": namespace,
            "annotations": _dapr_annotations("client", None),
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {"name": "client", "image": probe_image, "imagePullPolicy": "Never"}
                | {"args": ["get", *urls]}
            ],
        },
    }
    apply(client)
    terminated = _wait_terminated(namespace, "client", "client", timeout=180)
    log = kubectl("logs", "-n", namespace, "client", "-c", "client")
    assert terminated["exitCode"] == 0, (terminated, log)
    pod = echo["metadata"]["name"]
    assert f"-> hello from {pod} /by-name" in log, log
    assert f"-> hello from {pod} /by-short-name" in log, log
    assert f"-> hello from {pod} /through-dapr" in log, log
