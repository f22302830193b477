"""Fixtures of the node check (make k8s-node-check): the cluster `make k8s-up` started, the
probe image (probe/main.go, built here and loaded into the cluster's containerd without a
registry), and a namespace of its own, deleted at the end of the session."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.cluster import addons, procs, settings

HERE = Path(__file__).parent
PROBE_IMAGE = "localhost/order-platform/k8s-node-probe:test"


def kubectl(*args: str, check: bool = True, timeout: float = 200) -> str:
    result = addons.kubectl(*args, check=False, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def kubectl_json(*args: str) -> dict:
    return json.loads(kubectl(*args, "-o", "json"))


@pytest.fixture(scope="session", autouse=True)
def cluster() -> None:
    if not (procs.running("kube-apiserver") and procs.running("kubelet")):
        pytest.fail("the cluster is not up: run `make k8s-up` first")


def _build_probe(work: Path) -> Path:
    (work / "ctx").mkdir()
    env = {"CGO_ENABLED": "0", "PATH": "/usr/local/go/bin:/usr/bin:/bin"}
    subprocess.run(
        ["go", "build", "-trimpath", "-o", str(work / "ctx" / "probe"), "."],
        cwd=HERE / "probe",
        check=True,
        env={**os.environ, **env},
    )
    store = ["--root", str(work / "s"), "--runroot", str(work / "r"), "--storage-driver", "vfs"]
    subprocess.run(
        ["buildah", *store, "build", "-q", "--layers=false", "--pull=false"]
        + ["-f", str(HERE / "probe" / "Containerfile"), "-t", PROBE_IMAGE, str(work / "ctx")],
        check=True,
        capture_output=True,
    )
    archive = work / "probe.tar"
    subprocess.run(
        ["buildah", *store, "push", "-q", PROBE_IMAGE, f"docker-archive:{archive}:{PROBE_IMAGE}"],
        check=True,
        capture_output=True,
    )
    return archive


@pytest.fixture(scope="session")
def probe_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    archive = _build_probe(tmp_path_factory.mktemp("probe"))
    addons.ctr("images", "import", str(archive))
    return PROBE_IMAGE


@pytest.fixture(scope="session")
def namespace() -> Iterator[str]:
    name = f"node-check-{secrets.token_hex(3)}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=true", "--timeout=120s", check=False)


def apply(manifest: dict) -> None:
    subprocess.run(
        [str(settings.binary("kubectl")), f"--kubeconfig={addons.configs.kubeconfig('admin')}"]
        + ["apply", "-f", "-"],
        input=json.dumps(manifest),
        text=True,
        check=True,
        capture_output=True,
    )
