"""The short e2e on the single-node cluster (a step of `make test`): the chart installed as the
README says, every app beside its injected sidecar with a Sentry certificate, an order through
the gateway's Service confirmed with one trace, and an order-service pod deleted while an order
goes through."""

from __future__ import annotations

import re
import uuid

import httpx

from tests.integration.helpers import fund, place, stock
from tests.integration.helpers import wait_for as wait_for_order
from tests.k8s_e2e.conftest import APPS, Platform
from tests.k8s_e2e.kube import Kube, ready_containers, wait_for


def test_every_app_pod_runs_beside_its_injected_sidecar_with_a_sentry_certificate(
    platform: Platform,
) -> None:
    kube = platform.kube
    for app in APPS:
        pods = kube.pods(app)
        assert pods, f"no pod of {app}"
        for pod in pods:
            names = [c["name"] for c in pod["spec"]["containers"]]
            assert names == ["app", "daprd"], f"{pod['metadata']['name']}: {names}"
            assert ready_containers(pod) == (2, 2)
    sidecar_log = kube.run("logs", kube.pods("order-service")[0]["metadata"]["name"], "-c", "daprd")
    assert "Security is initialized successfully" in sidecar_log
    assert "Starting workload identity expiry watcher; cert expires on" in sidecar_log
    pods = sum(len(kube.pods(app)) for app in APPS)
    assert sentry_signed(kube) >= pods, "Sentry signed fewer certificates than there are sidecars"


def sentry_signed(kube: Kube) -> int:
    """Certificates Sentry has signed, from its metrics (its pod's address, on the bridge)."""
    sentry = kube.get("pods", "-n", "dapr-system", "-l", "app=dapr-sentry")["items"][0]
    metrics = httpx.get(f"http://{sentry['status']['podIP']}:9090/metrics", timeout=10).text
    found = re.findall(r"^dapr_sentry_cert_sign_success_total\S* (\S+)$", metrics, re.M)
    assert found, "no dapr_sentry_cert_sign_success in Sentry's metrics"
    return int(sum(float(n) for n in found))


def new_customer(api: httpx.Client) -> tuple[str, str]:
    run = uuid.uuid4().hex[:8]
    customer, product = f"k8s-{run}-c", f"k8s-{run}-p"
    stock(api, product, 10)
    fund(api, customer, "100.00")
    return customer, product


def confirm_one(api: httpx.Client) -> dict:
    customer, product = new_customer(api)
    resp = place(api, customer, [(product, 2, "3.50")], key=uuid.uuid4().hex)
    assert resp.status_code == 202, resp.text
    order = wait_for_order(api, resp.json()["orderId"], timeout=90)
    assert order["status"] == "CONFIRMED", order
    return order


def test_an_order_through_the_gateway_service_is_confirmed_with_one_trace(
    platform: Platform, api: httpx.Client
) -> None:
    order = confirm_one(api)
    trace_id = order.get("traceId")
    assert trace_id, f"the order carries no trace id: {order}"

    def spans() -> list[dict] | None:
        resp = httpx.get(f"{platform.zipkin}/api/v2/trace/{trace_id}", timeout=10)
        found = resp.json() if resp.status_code == 200 else []
        services = {s.get("localEndpoint", {}).get("serviceName") for s in found}
        return found if {"gateway", "order-service", "inventory-service"} <= services else None

    trace = wait_for(f"trace {trace_id} in Zipkin", spans, timeout=60)
    assert len({s["traceId"] for s in trace}) == 1


def test_an_order_goes_through_while_an_order_service_pod_is_deleted(
    platform: Platform, api: httpx.Client
) -> None:
    kube = platform.kube
    victim = kube.pods("order-service")[0]["metadata"]["name"]
    kube.run("delete", "pod", victim, "--wait=false")
    confirm_one(api)

    def replaced() -> bool:
        pods = kube.pods("order-service")
        names = {p["metadata"]["name"] for p in pods}
        return (
            len(pods) == 2
            and victim not in names
            and all(ready_containers(p) == (2, 2) for p in pods)
        )

    wait_for("order-service back to 2 pods, 2/2", replaced, timeout=180)
    confirm_one(api)
