"""The few Kubernetes API calls the dry run needs, over plain HTTP(S) with httpx: discovery of
each kind's resource path, create (for the namespace and the CRDs), and create with
`dryRun=All` (the server validates, defaults and admits the object, then stores nothing).
`fieldValidation=Strict` makes a field the schema does not know an error, not a warning."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class Resource:
    path: str  # /api/v1 or /apis/<group>/<version>
    plural: str
    namespaced: bool


class KindNotServed(LookupError):
    pass


def resource_for(api: httpx.Client, api_version: str, kind: str) -> Resource:
    """Where the server serves `kind` of `api_version` (from its discovery document)."""
    path = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    answer = api.get(path)
    if answer.status_code == 404:
        raise KindNotServed(f"{api_version} is not served")
    answer.raise_for_status()
    for item in answer.json()["resources"]:
        if item["kind"] == kind and "/" not in item["name"]:
            return Resource(path, item["name"], item["namespaced"])
    raise KindNotServed(f"{kind} of {api_version} is not served")


def collection_url(resource: Resource, namespace: str | None) -> str:
    if resource.namespaced:
        return f"{resource.path}/namespaces/{namespace}/{resource.plural}"
    return f"{resource.path}/{resource.plural}"


def create(
    api: httpx.Client, manifest: dict, namespace: str | None, dry_run: bool
) -> httpx.Response:
    resource = resource_for(api, manifest["apiVersion"], manifest["kind"])
    params = {"fieldValidation": "Strict"}
    if dry_run:
        params["dryRun"] = "All"
    return api.post(collection_url(resource, namespace), params=params, json=manifest)


def wait_established(api: httpx.Client, crd_name: str, timeout: float = 60) -> None:
    """Until the CRD's Established condition is True (its kind is then served)."""
    deadline = time.monotonic() + timeout
    url = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{crd_name}"
    while True:
        conditions = (api.get(url).json().get("status") or {}).get("conditions") or []
        if any(c["type"] == "Established" and c["status"] == "True" for c in conditions):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRD {crd_name} not established after {timeout:.0f}s")
        time.sleep(0.2)


def wait_served(api: httpx.Client, api_version: str, kind: str, timeout: float = 60) -> None:
    """Until discovery lists the kind (an established CRD reaches discovery a moment later)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            resource_for(api, api_version, kind)
            return
        except KindNotServed:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def describe(manifest: dict) -> str:
    return f"{manifest['kind']}/{manifest['metadata']['name']} ({manifest['apiVersion']})"
