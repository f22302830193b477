"""Fixtures of the Kubernetes check: the chart rendered by helm, and a real API server (etcd +
kube-apiserver from deploy/setup/kube.sh) with the namespace and the CRDs the chart uses:
Dapr's (from the github.com/dapr/dapr module, the runtime's version) and Strimzi's
(deploy/setup/strimzi.sh). One API server for the whole session, stopped at its end."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from deploy.stack.paths import CACHE_DIR, ROOT, pinned_versions
from tests.k8s.cluster import ApiServer
from tests.k8s.kubeapi import create, wait_established, wait_served

CHART = ROOT / "deploy" / "k8s" / "order-platform"
NAMESPACE = "order-platform"
VERSIONS = pinned_versions()


def cached(entry: str, name: str, script: str) -> Path:
    path = CACHE_DIR / entry / name
    assert path.exists(), f"{path} is missing: run deploy/setup/{script}"
    return path


@pytest.fixture(scope="session")
def helm() -> Path:
    return cached(f"helm-{VERSIONS['HELM_VERSION']}", "helm", "kube.sh")


def render(helm: Path, *extra: str) -> list[dict]:
    """The chart's manifests, as `helm template` renders them for the pinned Kubernetes."""
    argv = [str(helm), "template", "order-platform", str(CHART), "--namespace", NAMESPACE]
    argv += ["--kube-version", VERSIONS["KUBE_VERSION"], *extra]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


@pytest.fixture(scope="session")
def manifests(helm: Path) -> list[dict]:
    return render(helm)


def dapr_module() -> Path:
    """The github.com/dapr/dapr module the runtime is built from (in the module cache after
    deploy/setup/dapr.sh; `go mod download` fetches it otherwise)."""
    module = f"github.com/dapr/dapr@v{VERSIONS['DAPR_VERSION']}"
    done = subprocess.run(
        ["go", "mod", "download", "-json", module], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"go mod download {module}: {done.stdout}{done.stderr}"
    return Path(json.loads(done.stdout)["Dir"])


def dapr_crd_files() -> list[Path]:
    files = sorted((dapr_module() / "charts/dapr/crds").glob("*.yaml"))
    assert files, "no CRDs in the dapr module's charts/dapr/crds"
    return files


def strimzi_crd_files() -> list[Path]:
    entry = f"strimzi-crds-{VERSIONS['STRIMZI_VERSION']}"
    return [
        cached(entry, f"{k}.yaml", "strimzi.sh") for k in ("kafka", "kafkanodepool", "kafkatopic")
    ]


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of a fresh API server holding the namespace and the CRDs."""
    server = ApiServer(
        etcd_bin=cached(f"etcd-{VERSIONS['ETCD_VERSION']}", "etcd", "kube.sh"),
        apiserver_bin=cached(
            f"kube-apiserver-{VERSIONS['KUBE_VERSION']}", "kube-apiserver", "kube.sh"
        ),
        work=tmp_path_factory.mktemp("kube"),
    )
    try:
        server.start()
        with server.client() as client:
            namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}
            answer = create(client, namespace, None, dry_run=False)
            assert answer.status_code == 201, answer.text
            crds = [
                yaml.safe_load(path.read_text()) for path in dapr_crd_files() + strimzi_crd_files()
            ]
            for crd in crds:
                answer = create(client, crd, None, dry_run=False)
                assert answer.status_code == 201, f"CRD {crd['metadata']['name']}: {answer.text}"
            for crd in crds:
                wait_established(client, crd["metadata"]["name"])
                group = crd["spec"]["group"]
                for version in crd["spec"]["versions"]:
                    if version.get("served", True):
                        kind = crd["spec"]["names"]["kind"]
                        wait_served(client, f"{group}/{version['name']}", kind)
            yield client
    finally:
        server.stop()
