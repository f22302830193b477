"""The chart itself: `helm lint`, and its values against the repository's own Dapr files
(dapr/<app-id>.yaml, components/, dapr.yaml), so the cluster and the local stack stay one
system: the same access lists, resiliency policies, pub/sub scopes, topics and app ports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from deploy.stack.kafka import TOPICS
from deploy.stack.paths import ROOT
from tests.k8s.conftest import CHART, NAMESPACE, dapr_module, render


def repo_yaml(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text())


def named(manifests: list[dict], kind: str) -> dict[str, dict]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def test_helm_lint_is_clean(helm: Path) -> None:
    done = subprocess.run(
        [str(helm), "lint", "--strict", str(CHART), "--namespace", NAMESPACE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_access_lists_are_the_repositorys(manifests: list[dict]) -> None:
    """Every app's Configuration allows exactly what dapr/<app-id>.yaml allows, per caller."""
    configs = named(manifests, "Configuration")
    apps = [a["appID"] for a in repo_yaml("dapr.yaml")["apps"]]
    assert sorted(configs) == sorted(apps)
    for app_id in apps:
        local = repo_yaml(f"dapr/{app_id}.yaml")["spec"]
        cluster = configs[app_id]["spec"]
        for spec in (local, cluster):
            assert spec["accessControl"]["defaultAction"] == "deny"

        def allowed(spec: dict) -> dict[str, list]:
            return {
                p["appId"]: (p["defaultAction"], p.get("operations", []))
                for p in spec["accessControl"]["policies"]
            }

        assert allowed(cluster) == allowed(local), app_id
        assert all(p["namespace"] == NAMESPACE for p in cluster["accessControl"]["policies"]), (
            app_id
        )
        assert cluster.get("workflow") == local.get("workflow"), app_id


def test_resiliency_is_the_repositorys(manifests: list[dict]) -> None:
    cluster = named(manifests, "Resiliency")
    for path in (
        "components/common/resiliency.yaml",
        "components/common/resiliency-pubsub.yaml",
        "components/common/resiliency-gateway.yaml",
    ):
        local = repo_yaml(path)
        mine = cluster[local["metadata"]["name"]]
        assert mine["spec"] == local["spec"], path
        assert mine.get("scopes") == local.get("scopes"), path


def metadata(component: dict) -> dict[str, object]:
    return {m["name"]: m.get("value", m.get("secretKeyRef")) for m in component["spec"]["metadata"]}


def test_pubsub_is_the_repositorys_but_for_the_brokers(manifests: list[dict]) -> None:
    local = metadata(repo_yaml("components/common/pubsub.yaml"))
    cluster = metadata(named(manifests, "Component")["orderpubsub"])
    assert cluster.pop("brokers") == "order-platform-kafka-bootstrap:9092"
    local.pop("brokers")

    def squeeze(values: dict[str, object]) -> dict[str, object]:  # Dapr ignores the spaces
        return {k: "".join(str(v).split()) for k, v in values.items()}

    assert squeeze(cluster) == squeeze(local)


def test_state_store_password_comes_from_a_secret(manifests: list[dict]) -> None:
    store = named(manifests, "Component")["statestore"]
    values = metadata(store)
    assert values["password"] == {"name": "order-platform-postgres", "key": "password"}
    assert values["actorStateStore"] == "true" and store["scopes"] == ["order-service"]


def test_topics_and_ports_are_the_repositorys(manifests: list[dict]) -> None:
    assert sorted(named(manifests, "KafkaTopic")) == sorted(TOPICS)
    deployments = named(manifests, "Deployment")
    for app in repo_yaml("dapr.yaml")["apps"]:
        pod = deployments[app["appID"]]["spec"]["template"]
        assert pod["metadata"]["annotations"]["dapr.io/app-port"] == str(app["appPort"])
        assert pod["metadata"]["annotations"]["dapr.io/config"] == app["appID"]
        container = pod["spec"]["containers"][0]
        assert container["ports"][0]["containerPort"] == app["appPort"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"] and container["resources"]["limits"]


def test_the_console_reaches_every_other_app_by_its_service(manifests: list[dict]) -> None:
    """A pod has no dapr.yaml: the gateway's OPS_APP_URLS names each other app's Service."""
    gateway = named(manifests, "Deployment")["gateway"]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in gateway["containers"][0]["env"]}
    urls = dict(pair.split("=", 1) for pair in env["OPS_APP_URLS"].split(","))
    services = named(manifests, "Service")
    others = [a for a in repo_yaml("dapr.yaml")["apps"] if a["appID"] != "gateway"]
    assert sorted(urls) == sorted(a["appID"] for a in others)
    for app in others:
        port = services[app["appID"]]["spec"]["ports"][0]["port"]
        assert urls[app["appID"]] == f"http://{app['appID']}:{port}"


def test_no_secret_is_inline(helm: Path, manifests: list[dict]) -> None:
    """No Secret object, and every token or password comes from a secretKeyRef."""
    assert not [m for m in manifests if m["kind"] == "Secret"]
    for deployment in named(manifests, "Deployment").values():
        for env in deployment["spec"]["template"]["spec"]["containers"][0].get("env", []):
            if any(word in env["name"] for word in ("TOKEN", "PASSWORD")):
                assert "secretKeyRef" in env.get("valueFrom", {}), env["name"]
    # A changed Secret name reaches every reference.
    renamed = render(helm, "--set", "secrets.postgres.name=pg-elsewhere")
    assert "order-platform-postgres" not in yaml.safe_dump_all(renamed)


def test_every_dapr_annotation_is_one_the_injector_knows(manifests: list[dict]) -> None:
    """The API server takes any annotation; Dapr's sidecar injector ignores one it does not
    know. So each dapr.io/ annotation must be a key of the injector (the runtime's version)."""
    source = (dapr_module() / "pkg/injector/annotations/annotations.go").read_text()
    known = set(re.findall(r'"(dapr\.io/[a-z0-9-]+)"', source))
    assert len(known) > 40, "the injector's annotation keys were not found"
    for deployment in named(manifests, "Deployment").values():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
        used = {key for key in annotations if key.startswith("dapr.io/")}
        assert used <= known, f"{deployment['metadata']['name']}: unknown {used - known}"
