"""Every manifest of deploy/k8s, as helm renders it, submitted to a real kube-apiserver with a
server-side dry run (`dryRun=All`, strict field validation): the server checks each against its
built-in schemas and the installed CRDs (Dapr's, Strimzi's) and runs its admission; a refusal
fails the test with the server's reason. Broken copies show that the check can fail."""

from __future__ import annotations

import copy
from pathlib import Path

import httpx

from deploy.stack.paths import ROOT
from tests.k8s.conftest import NAMESPACE, render
from tests.k8s.kubeapi import create, describe

EXPECTED_KINDS = {
    "Deployment",
    "Service",
    "PodDisruptionBudget",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "ConfigMap",
    "Component",
    "Configuration",
    "Resiliency",
    "Kafka",
    "KafkaNodePool",
    "KafkaTopic",
}


def test_the_api_server_accepts_every_manifest(api: httpx.Client, manifests: list[dict]) -> None:
    assert {m["kind"] for m in manifests} == EXPECTED_KINDS
    refused = []
    for manifest in manifests:
        answer = create(api, manifest, NAMESPACE, dry_run=True)
        if answer.status_code not in (200, 201):
            refused.append(f"{describe(manifest)}: {answer.status_code} {answer.text}")
        else:
            warnings = answer.headers.get_list("warning")
            assert not warnings, f"{describe(manifest)}: {warnings}"
    assert not refused, "\n".join(refused)
    print(f"\n{len(manifests)} manifests accepted by kube-apiserver (server-side dry run)")


def test_the_single_node_values_are_accepted_too(api: httpx.Client, helm: Path) -> None:
    """values-single-node.yaml (make k8s-e2e): Kafka run by the chart, no volumes, no HPA."""
    manifests = render(helm, "-f", str(ROOT / "deploy/k8s/values-single-node.yaml"))
    kinds = {m["kind"] for m in manifests}
    assert {"Kafka", "KafkaNodePool", "KafkaTopic", "HorizontalPodAutoscaler"}.isdisjoint(kinds)
    assert {"StatefulSet", "Job"} <= kinds
    refused = []
    for manifest in manifests:
        answer = create(api, manifest, NAMESPACE, dry_run=True)
        if answer.status_code not in (200, 201) or answer.headers.get_list("warning"):
            refused.append(f"{describe(manifest)}: {answer.status_code} {answer.text}")
    assert not refused, "\n".join(refused)
    sets = [m for m in manifests if m["kind"] == "StatefulSet"]
    assert all("volumeClaimTemplates" not in m["spec"] for m in sets)


def test_nothing_was_stored(api: httpx.Client) -> None:
    """A dry run stores nothing: the namespace holds no Deployment afterwards."""
    answer = api.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments")
    assert answer.status_code == 200 and answer.json()["items"] == []


def first(manifests: list[dict], kind: str) -> dict:
    return copy.deepcopy(next(m for m in manifests if m["kind"] == kind))


def test_a_broken_deployment_is_refused(api: httpx.Client, manifests: list[dict]) -> None:
    broken = first(manifests, "Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["httpGet"]["port"] = -1
    answer = create(api, broken, NAMESPACE, dry_run=True)
    assert answer.status_code == 422, answer.text


def test_an_unknown_field_is_refused(api: httpx.Client, manifests: list[dict]) -> None:
    broken = first(manifests, "Service")
    broken["spec"]["portz"] = []
    answer = create(api, broken, NAMESPACE, dry_run=True)
    assert answer.status_code == 400 and "portz" in answer.text, answer.text


def test_a_kafka_topic_against_strimzis_schema_is_refused(
    api: httpx.Client, manifests: list[dict]
) -> None:
    broken = first(manifests, "KafkaTopic")
    broken["spec"]["partitions"] = "six"
    answer = create(api, broken, NAMESPACE, dry_run=True)
    assert answer.status_code == 422 and "partitions" in answer.text, answer.text


def test_a_dapr_component_against_daprs_schema_is_refused(
    api: httpx.Client, manifests: list[dict]
) -> None:
    broken = first(manifests, "Component")
    broken["spec"]["metadata"] = "brokers=kafka:9092"
    answer = create(api, broken, NAMESPACE, dry_run=True)
    assert answer.status_code == 422, answer.text


def test_a_kafka_listener_of_no_known_type_is_refused(
    api: httpx.Client, manifests: list[dict]
) -> None:
    broken = first(manifests, "Kafka")
    broken["spec"]["kafka"]["listeners"][0]["type"] = "public"
    answer = create(api, broken, NAMESPACE, dry_run=True)
    assert answer.status_code == 422 and "type" in answer.text, answer.text
