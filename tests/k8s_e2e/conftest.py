"""The platform installed on the single-node cluster of `make k8s-up` the way the README tells a
user (deploy/k8s/install.sh with deploy/k8s/values-single-node.yaml), once per session, and a
client of the gateway's Service. The release is left installed; `make k8s-down` removes all."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from apps.gateway.settings import TokenSettings
from apps.gateway.tokens import Role
from deploy.cluster import settings as cluster
from deploy.stack.paths import ROOT
from tests.integration.helpers import client_for
from tests.k8s_e2e.kube import Kube, ready_containers, wait_for

NAMESPACE = "order-platform"
APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]
INSTALL_TIMEOUT = 900


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The first test installs the platform (helm --wait, up to INSTALL_TIMEOUT): more than the
    # suite's default 600 s per test (pyproject.toml) on a busy 2-core machine.
    for item in items:
        if item.path.parent == Path(__file__).parent:
            item.add_marker(pytest.mark.timeout(INSTALL_TIMEOUT + 600))


@dataclass(frozen=True)
class Platform:
    kube: Kube
    gateway: str  # the gateway Service's API, e.g. http://10.202.x.y/api/v1
    zipkin: str  # the Zipkin Service


@pytest.fixture(scope="session")
def kube() -> Kube:
    kubeconfig = cluster.CONF / "admin.kubeconfig"
    if not kubeconfig.exists():
        pytest.fail(f"no cluster: {kubeconfig} is missing; run `make k8s-up` first")
    return Kube(cluster.binary("kubectl"), cluster.binary("helm"), kubeconfig, NAMESPACE)


def install(kube: Kube) -> None:
    """deploy/k8s/install.sh, as the README runs it, with the single-node values."""
    keys = TokenSettings.from_env()
    argv = [
        "bash", str(ROOT / "deploy/k8s/install.sh"),
        "-f", str(ROOT / "deploy/k8s/values-single-node.yaml"),
        "--set", f"auth.issuer={keys.issuer}", "--set", f"auth.audience={keys.audience}",
    ]  # fmt: skip
    env = {
        **kube.env,
        "KUBECTL": str(kube.kubectl),
        "HELM": str(kube.helm),
        "NAMESPACE": kube.namespace,
        "AUTH_PUBLIC_KEY": str(keys.public_key_file),
    }
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"deploy/k8s/install.sh failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def all_apps_ready(kube: Kube) -> bool:
    for app in APPS:
        pods = kube.pods(app)
        if not pods or any(ready_containers(p) != (2, 2) for p in pods):
            return False
    return True


@pytest.fixture(scope="session")
def platform(kube: Kube) -> Platform:
    install(kube)
    wait_for("every app pod 2/2", lambda: all_apps_ready(kube), timeout=300)
    gateway = f"http://{kube.service_ip('gateway')}/api/v1"
    return Platform(kube, gateway, f"http://{kube.service_ip('zipkin')}:9411")


@pytest.fixture(scope="session")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with client_for(platform.gateway, "k8s-admin", Role.ADMIN, timeout=15, connections=40) as c:
        yield c
