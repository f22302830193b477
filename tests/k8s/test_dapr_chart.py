"""Dapr's own chart as `make k8s-up` installs it (deploy/cluster/addons.py: the chart of the
github.com/dapr/dapr module at DAPR_VERSION, deploy/cluster/dapr-values.yaml, global.tag)
against the images deploy/setup/k8s-images.sh builds: a version bump in versions.env must move
the control plane and the injected sidecar together, with no image asked for that is not built."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import yaml

from deploy.cluster.addons import DAPR_NAMESPACE, dapr_chart_values
from deploy.cluster.settings import dapr_chart
from deploy.stack.paths import ROOT
from tests.k8s.conftest import VERSIONS, dapr_module


def built_images() -> set[str]:
    """The Dapr images k8s-images.sh builds (its dapr_components, tagged DAPR_VERSION)."""
    script = (ROOT / "deploy/setup/k8s-images.sh").read_text()
    found = re.search(r"^dapr_components=\(([^)]*)\)", script, re.MULTILINE)
    assert found, "dapr_components=(...) not found in deploy/setup/k8s-images.sh"
    return {f"localhost/dapr/{name}:{VERSIONS['DAPR_VERSION']}" for name in found.group(1).split()}


def images_in(node: object) -> Iterator[str]:
    """Every container image of a manifest, and the sidecar image the injector is given."""
    if isinstance(node, dict):
        if isinstance(node.get("image"), str):
            yield node["image"]
        if node.get("name") == "SIDECAR_IMAGE" and "value" in node:
            yield node["value"]
        for value in node.values():
            yield from images_in(value)
    elif isinstance(node, list):
        for item in node:
            yield from images_in(item)


def rendered_chart(helm: Path) -> list[dict]:
    dapr_module()  # the module (and so its chart) in the module cache
    argv = [str(helm), "template", "dapr", str(dapr_chart()), "--namespace", DAPR_NAMESPACE]
    argv += ["--kube-version", VERSIONS["KUBE_VERSION"], *dapr_chart_values()]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def test_the_chart_asks_for_exactly_the_images_built(helm: Path) -> None:
    asked = set().union(*(images_in(doc) for doc in rendered_chart(helm)))
    assert asked == built_images(), f"asked, not built: {asked - built_images()}; " + (
        f"built, not asked: {built_images() - asked}"
    )


def test_the_injected_sidecar_is_the_pinned_daprd(helm: Path) -> None:
    sidecars = {
        env["value"]
        for doc in rendered_chart(helm)
        for env in _envs(doc)
        if env.get("name") == "SIDECAR_IMAGE"
    }
    assert sidecars == {f"localhost/dapr/daprd:{VERSIONS['DAPR_VERSION']}"}


def _envs(doc: dict) -> Iterator[dict]:
    spec = doc.get("spec", {}).get("template", {}).get("spec", {})
    for container in spec.get("containers", []):
        yield from container.get("env", [])
