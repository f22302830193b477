"""apps/common/access.py: the app token, and the Dapr access-control policy that each app enforces
itself too (daprd enforces it per caller with mTLS; the app's check is a second line). The
matching cases come from daprd 1.18's own tests (pkg/acl/acl_test.go), so the app decides as
daprd would."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from apps.common.access import (
    AccessPolicy,
    Rule,
    install_access_control,
    load_policy,
)
from apps.common.problems import install_problem_handlers
from deploy.stack.paths import ROOT
from deploy.stack.runfile import load_runfile

APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]

# daprd's test policy (pkg/acl/acl_test.go initializeAccessControlList), HTTP cases.
DAPR_TEST_CONFIG = {
    "spec": {
        "accessControl": {
            "defaultAction": "deny",
            "trustDomain": "abcd",
            "policies": [
                {
                    "appId": "app1",
                    "defaultAction": "allow",
                    "trustDomain": "public",
                    "namespace": "ns1",
                    "operations": [
                        {"name": "/op1", "httpVerb": ["POST", "GET"], "action": "allow"},
                        {"name": "/op2", "httpVerb": ["*"], "action": "deny"},
                    ],
                },
                {
                    "appId": "app2",
                    "defaultAction": "deny",
                    "trustDomain": "domain1",
                    "namespace": "ns2",
                    "operations": [
                        {"name": "/op3/a/*", "httpVerb": ["PUT", "GET"], "action": "allow"},
                        {"name": "/op4", "httpVerb": ["POST"], "action": "allow"},
                    ],
                },
                {
                    "appId": "app3",
                    "trustDomain": "domain1",
                    "namespace": "ns1",
                    "operations": [{"name": "/op5", "httpVerb": ["POST"], "action": "allow"}],
                },
                {
                    "appId": "app1",
                    "defaultAction": "allow",
                    "trustDomain": "public",
                    "namespace": "ns4",
                    "operations": [{"name": "/op6", "httpVerb": ["*"], "action": "allow"}],
                },
            ],
        }
    }
}


@pytest.mark.parametrize(
    "caller, namespace, verb, operation, allowed",
    [
        ("app1", "ns1", "POST", "op1", True),
        ("unknown", "ns1", "POST", "op1", False),  # no policy: global default
        ("app1", "other", "POST", "op1", False),  # namespace does not match
        ("app1", "ns1", "POST", "opX", True),  # no operation: the app's default
        ("app1", "ns1", "POST", "Op2", False),  # HTTP is case-insensitive
        ("app1", "ns1", "PUT", "op2", False),  # "*" verb
        ("app2", "ns2", "PUT", "op4", False),  # verb not listed: the app's default
        ("app2", "ns2", "POST", "op4", True),
        ("app2", "ns2", "POST", "/op4", True),
        ("app2", "ns2", "PUT", "/op3/a", True),
        ("app2", "ns2", "PUT", "/op3/b/b", False),
        ("app2", "ns2", "PUT", "/op3/a/b", True),
        ("app3", "ns1", "PUT", "op5", False),  # no app default: the global one
        ("app1", "ns4", "GET", "op6", True),
    ],
)
def test_matches_like_daprd(caller, namespace, verb, operation, allowed):
    policy = AccessPolicy.from_configuration(DAPR_TEST_CONFIG)
    assert policy is not None
    assert policy.allows(caller, namespace, verb, operation) is allowed


@pytest.mark.parametrize(
    "operation, found",
    [
        ("/op7/a/b/c", "/op7/a/b/*"),
        ("/op7/a/b/c/d", None),
        ("/op7/a/b/c/f", "/op7/a/b/c/f"),
        ("/op7/a/bc", "/op7/a/b*"),
        ("/op7/c/d/e", "/op7/c/**"),
        ("/op6/below", "/op6"),  # a name matches every path below it
    ],
)
def test_operation_wildcards_like_daprd(operation, found):
    names = ["/op6", "/op7/a/b/*", "/op7/a/b/c/f", "/op7/a/b*", "/op7/c/**"]
    doc = {
        "spec": {
            "accessControl": {
                "policies": [
                    {
                        "appId": "app4",
                        "namespace": "ns2",
                        "operations": [{"name": n, "action": "allow"} for n in names],
                    }
                ]
            }
        }
    }
    policy = AccessPolicy.from_configuration(doc)
    assert policy is not None
    rule: Rule | None = policy.apps[("app4", "ns2")].operations.search(operation)
    assert (rule.name if rule else None) == found


# ---- the platform's own policies -------------------------------------------------------------


def configuration(app_id: str) -> dict:
    return yaml.safe_load((ROOT / "dapr" / f"{app_id}.yaml").read_text())


@pytest.mark.parametrize(
    "callee, caller, verb, path, allowed",
    [
        # only order-service charges and refunds; the gateway reads and sets accounts
        ("payment-service", "order-service", "POST", "/payments/charge", True),
        ("payment-service", "order-service", "POST", "/payments/refund", True),
        ("payment-service", "gateway", "POST", "/payments/charge", False),
        ("payment-service", "gateway", "POST", "/payments/refund", False),
        ("payment-service", "gateway", "GET", "/payments", True),
        ("payment-service", "gateway", "PUT", "/accounts/c-1", True),
        ("payment-service", "gateway", "GET", "/accounts/c-1", True),
        ("payment-service", "order-service", "PUT", "/accounts/c-1", False),
        ("payment-service", "notification-service", "POST", "/payments/charge", False),
        ("payment-service", "inventory-service", "GET", "/payments", False),
        # the gateway's order routes, and nobody else's
        ("order-service", "gateway", "POST", "/orders", True),
        ("order-service", "gateway", "GET", "/orders/o-1", True),
        ("order-service", "gateway", "POST", "/orders/o-1/cancel", True),
        ("order-service", "gateway", "POST", "/events/stock-replies", False),
        ("order-service", "inventory-service", "GET", "/orders/o-1", False),
        ("order-service", "payment-service", "POST", "/orders/o-1/cancel", False),
        # Kafka commands are never invoked: their routes take no caller
        ("inventory-service", "gateway", "PUT", "/inventory/p-1", True),
        ("inventory-service", "gateway", "POST", "/events/reserve-stock", False),
        ("inventory-service", "order-service", "POST", "/events/reserve-stock", False),
        ("inventory-service", "gateway", "PUT", "/inventory/p-1/x", False),
        ("notification-service", "gateway", "GET", "/dead-letters", True),
        ("notification-service", "gateway", "POST", "/dead-letters/7/redrive", True),
        ("notification-service", "gateway", "GET", "/notifications", True),
        ("notification-service", "gateway", "POST", "/events/dead-letters", False),
        ("notification-service", "order-service", "POST", "/dead-letters/7/redrive", False),
        # nothing invokes the gateway
        ("gateway", "order-service", "GET", "/api/v1/orders", False),
    ],
)
def test_platform_policies(callee, caller, verb, path, allowed):
    policy = load_policy(callee)
    assert policy is not None
    assert policy.allows(caller, "default", verb, path) is allowed


def test_the_self_hosted_namespace_is_read_as_the_apps_own():
    """In Kubernetes the callers' sidecars report the release's namespace, not `default`."""
    policy = load_policy("order-service", namespace="order-platform")
    assert policy is not None
    assert policy.allows("gateway", "order-platform", "POST", "/orders")
    assert not policy.allows("gateway", "default", "POST", "/orders")
    assert not policy.allows("gateway", "elsewhere", "POST", "/orders")


def test_every_policy_names_every_other_app():
    """With mTLS on, the global default then decides for no app of the platform."""
    for callee in APPS:
        policy = load_policy(callee)
        assert policy is not None
        assert {app for app, _ns in policy.apps} == set(APPS) - {callee}, callee
        assert all(p.default_action == "deny" for p in policy.apps.values()), callee


def test_a_caller_no_policy_names_is_refused_everywhere():
    """With mTLS every caller has an identity: one that is none of the platform's apps is denied."""
    defaults = {app: configuration(app)["spec"]["accessControl"]["defaultAction"] for app in APPS}
    assert defaults == {app: "deny" for app in APPS}


def test_every_sidecar_has_its_own_configuration_and_the_same_tracing():
    specs = load_runfile(ROOT / "dapr.yaml", "sqlite")
    assert {s.app_id: s.config for s in specs} == {a: ROOT / "dapr" / f"{a}.yaml" for a in APPS}
    shared = [
        {k: v for k, v in configuration(app)["spec"].items() if k in ("tracing", "metrics")}
        for app in APPS
    ]
    assert all(s == shared[0] for s in shared) and shared[0]["tracing"]["zipkin"]


def test_no_rule_hides_another():
    """daprd applies the first rule met along the path: a name that is a prefix of another rule's
    for the same caller would hide it."""
    for app in APPS:
        for policy in configuration(app)["spec"]["accessControl"]["policies"]:
            names = [op["name"].rstrip("/*") for op in policy.get("operations", [])]
            for a in names:
                for b in names:
                    assert a == b or not b.startswith(a + "/"), (app, policy["appId"], a, b)


# ---- the middleware --------------------------------------------------------------------------

TOKEN = "app-token-for-tests"


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    install_access_control(app, "payment-service", TOKEN, load_policy("payment-service"))

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    @app.post("/payments/charge")
    def charge() -> dict:
        return {"status": "CHARGED"}

    return TestClient(app)


def call(client: TestClient, *headers: tuple[str, str], path: str = "/payments/charge"):
    return client.post(path, json={}, headers=list(headers))


def test_a_call_without_the_app_token_is_a_401_problem(client):
    for headers in [(), (("dapr-api-token", "wrong"),), (("dapr-api-token", TOKEN[:-1]),)]:
        resp = call(client, *headers)
        assert resp.status_code == 401
        assert resp.headers["content-type"] == "application/problem+json"
        assert TOKEN not in resp.text


def test_the_health_probe_needs_no_token(client):
    assert client.get("/healthz").status_code == 200


def test_a_call_from_the_sidecar_itself_passes(client):
    """Pub/sub deliveries and the sidecar's own calls carry the token and no caller id."""
    assert call(client, ("dapr-api-token", TOKEN)).json() == {"status": "CHARGED"}


def test_a_caller_the_policy_allows_passes_and_one_it_does_not_is_a_403(client):
    token = ("dapr-api-token", TOKEN)
    assert call(client, token, ("dapr-caller-app-id", "order-service")).status_code == 200
    refused = call(client, token, ("dapr-caller-app-id", "gateway"))
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_forged_caller_beside_the_real_one_is_refused(client):
    """A client's own dapr-caller-app-id arrives beside the one its sidecar sets."""
    token = ("dapr-api-token", TOKEN)
    forged = ("dapr-caller-app-id", "order-service")
    resp = call(client, token, forged, ("dapr-caller-app-id", "gateway"))
    assert resp.status_code == 403


def test_no_token_configured_checks_nothing():
    app = FastAPI()
    install_access_control(app, "gateway", None, load_policy("gateway"))

    @app.get("/api/v1/x")
    def public() -> dict:
        return {}

    assert TestClient(app).get("/api/v1/x").status_code == 200


def test_an_app_without_a_configuration_has_no_policy(tmp_path: Path):
    assert load_policy("payment-service", tmp_path) is None
