"""Sidecars and apps are locked down: no sidecar serves a call without its own Dapr API token,
no app a call without its app token; sidecars talk to each other over mTLS only, with
certificates from the run's Sentry, and each enforces its access-control policy per caller (the
SPIFFE ID of the caller's certificate); an app may publish or consume only the topics the pub/sub
scopes give it; PostgreSQL wants its password. Every refused call changes nothing.

Sentry's side (no certificate without a valid token) is in test_security_sentry.py."""

from __future__ import annotations

import json
import time
from decimal import Decimal

import httpx
import pytest

from deploy.stack.identity import (
    IDENTITY_DIR,
    TOKENS_DIR,
    TRUST_ANCHORS_FILE,
    app_spiffe_id,
)
from deploy.stack.paths import LOG_DIR
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.records import alive, records
from deploy.stack.secrets import (
    TOKENS_FILE,
    app_headers,
    dapr_headers,
    load_tokens,
    postgres_password,
)
from tests.integration import sidecars
from tests.integration.helpers import (
    balance,
    fund,
    inventory,
    payments,
    place,
    stock,
    wait_for,
)
from tests.integration.sidecars import publish, publish_as_producer

APPS = ["gateway", "order-service", "inventory-service", "payment-service", "notification-service"]
PRIVATE_APPS = APPS[1:]  # the gateway is public: clients call it with their own bearer token


def is_problem(resp: httpx.Response, status: int) -> bool:
    return resp.status_code == status and resp.headers.get("content-type", "").startswith(
        "application/problem+json"
    )


def refused_by_callee_sidecar(resp: httpx.Response, caller: str) -> bool:
    """The callee's daprd refused the call under its accessControl, naming the caller by the
    SPIFFE ID of its certificate: the call never reached the callee app."""
    expected = f"access control policy has denied access to id: {app_spiffe_id(caller)}"
    return (
        resp.status_code == 403
        and resp.json().get("errorCode") == "ERR_DIRECT_INVOKE"
        and "PermissionDenied" in resp.text
        and expected in resp.text
    )


def wait_dead_letters(api: httpx.Client, payload: dict, wanted: set[tuple[str, str]]) -> None:
    """Until every (topic, consumer) in `wanted` has dead-lettered `payload`."""
    deadline = time.monotonic() + 60
    while True:
        items = api.get("/dead-letters", params={"limit": 500}).json()["items"]
        got = {(d["topic"], d["sourceApp"]) for d in items if json.loads(d["payload"]) == payload}
        if wanted <= got:
            return
        assert time.monotonic() < deadline, f"dead letters of {payload}: {got}, wanted {wanted}"
        time.sleep(0.5)


def confirmed_order(api: httpx.Client, unique: str) -> tuple[str, str, str]:
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 5)
    fund(api, customer, "20.00")
    order_id = place(api, customer, [(product, 2, "3.00")]).json()["orderId"]
    wait_for(api, order_id, {"CONFIRMED"}, saga={"COMPLETED"})
    return order_id, product, customer


# ---- tokens -----------------------------------------------------------------------------------


def test_the_tokens_file_is_private_and_every_token_its_own(stack):
    assert TOKENS_FILE.stat().st_mode & 0o777 == 0o600
    tokens = load_tokens()
    values = [t.dapr for t in tokens.values()] + [t.app for t in tokens.values() if t.app]
    assert len(values) == len(set(values)) == 2 * len(APPS) - 1


def test_the_identity_material_is_private(stack):
    """Sentry tokens, Sentry's CA key: the owner's only."""
    assert IDENTITY_DIR.stat().st_mode & 0o777 == 0o700
    tokens = sorted(TOKENS_DIR.glob("*.jwt"))
    assert {t.stem for t in tokens} == {*APPS, "dapr-placement", "dapr-scheduler"}
    for private in [*tokens, TRUST_ANCHORS_FILE.with_name("issuer.key")]:
        assert private.stat().st_mode & 0o777 == 0o600, private.name


def test_no_log_holds_a_token(stack):
    tokens = load_tokens()
    secret = [t.dapr for t in tokens.values()] + [t.app for t in tokens.values() if t.app]
    secret += [t.read_text().strip() for t in TOKENS_DIR.glob("*.jwt")]
    for log in LOG_DIR.glob("*.log"):
        text = log.read_text(errors="replace")
        assert not [s for s in secret if s in text], log.name


@pytest.mark.parametrize("app_id", APPS)
def test_a_sidecar_refuses_a_call_without_its_own_token(stack, app_id):
    other = next(a for a in APPS if a != app_id)
    for headers in [{}, {"dapr-api-token": "wrong"}, dapr_headers(other)]:
        resp = httpx.get(f"{sidecars.sidecar_url(app_id)}/v1.0/metadata", headers=headers)
        assert resp.status_code == 401, (headers.keys(), resp.text)
    with sidecars.sidecar(app_id) as client:
        assert client.get("/v1.0/metadata").json()["id"] == app_id


def test_an_invocation_through_a_sidecar_without_its_token_changes_nothing(api, unique):
    customer = f"c-{unique}"
    fund(api, customer, "10.00")
    for via in ("payment-service", "gateway"):
        resp = sidecars.invoke(
            via,
            "payment-service",
            "PUT",
            f"accounts/{customer}",
            {"balance": "999.00"},
            token=False,
        )
        assert resp.status_code == 401, resp.text
    assert balance(api, customer) == Decimal("10.00")


@pytest.mark.parametrize("app_id", PRIVATE_APPS)
def test_an_app_refuses_a_direct_call_without_its_app_token(stack, app_id):
    other = next(a for a in PRIVATE_APPS if a != app_id)
    for headers in [{}, {"dapr-api-token": "wrong"}, app_headers(other)]:
        resp = httpx.get(f"{sidecars.app_url(app_id)}/openapi.json", headers=headers)
        assert is_problem(resp, 401), (headers.keys(), resp.status_code)
    # The sidecar's health probe carries no token: the probes stay open.
    assert httpx.get(f"{sidecars.app_url(app_id)}/healthz").status_code == 200
    with sidecars.app(app_id) as client:
        assert client.get("/openapi.json").status_code == 200


def test_a_direct_call_without_the_app_token_changes_nothing(api, unique):
    customer, product = f"c-{unique}", f"p-{unique}"
    fund(api, customer, "10.00")
    stock(api, product, 5)
    with sidecars.app("payment-service", token=False) as client:
        resp = client.put(f"/accounts/{customer}", json={"balance": "999.00"})
        assert is_problem(resp, 401)
        charge = {"orderId": f"o-{unique}", "customerId": customer, "amount": "5.00"}
        assert is_problem(client.post("/payments/charge", json=charge), 401)
    with sidecars.app("inventory-service", token=False) as client:
        resp = client.put(f"/inventory/{product}", json={"available": 500})
        assert is_problem(resp, 401)
        event = {
            "data": {"orderId": f"o-{unique}", "items": [{"productId": product, "quantity": 5}]}
        }
        assert is_problem(client.post("/events/reserve-stock", json=event), 401)
    assert balance(api, customer) == Decimal("10.00")
    assert payments(api, f"o-{unique}") == []
    assert inventory(api, product) == {"productId": product, "available": 5, "reserved": 0}


# ---- forged messages --------------------------------------------------------------------------


def test_forged_messages_without_a_token_are_refused_and_change_nothing(api, unique):
    order_id, product, customer = confirmed_order(api, unique)
    cancelled = {"orderId": order_id, "customerId": customer, "reason": "forged"}
    reply = {"orderId": order_id, "reserved": False, "reason": "forged"}
    assert (
        publish("order-service", "order-cancelled", cancelled, order_id, token=False).status_code
        == 401
    )
    assert (
        publish("inventory-service", "stock-replies", reply, order_id, token=False).status_code
        == 401
    )
    # A malformed marker on the same partitions, through the producers: once the consumers have
    # dead-lettered it, anything published before it on those partitions has been handled.
    marker = {"orderId": order_id, "marker": unique}
    publish_as_producer("order-cancelled", marker, key=order_id)
    publish_as_producer("stock-replies", marker, key=order_id)
    wait_dead_letters(
        api,
        marker,
        {
            ("order-cancelled", "inventory-service"),
            ("order-cancelled", "notification-service"),
            ("stock-replies", "order-service"),
        },
    )
    assert inventory(api, product) == {"productId": product, "available": 3, "reserved": 0}
    assert api.get(f"/orders/{order_id}").json()["status"] == "CONFIRMED"


@pytest.mark.parametrize(
    "app_id, topic",
    [
        ("payment-service", "stock-replies"),
        ("payment-service", "dead-letters"),
        ("gateway", "order-cancelled"),
        ("gateway", "reserve-stock"),
        ("order-service", "stock-replies"),
        ("inventory-service", "order-cancelled"),
        ("inventory-service", "reserve-stock"),
        ("order-service", "some-other-topic"),
    ],
)
def test_an_app_may_not_publish_what_it_does_not_produce(stack, unique, app_id, topic):
    resp = publish(app_id, topic, {"orderId": f"forged-{unique}", "reserved": True})
    assert resp.status_code == 403 and "ERR_PUBSUB_FORBIDDEN" in resp.text, resp.text


# ---- service invocation -----------------------------------------------------------------------


@pytest.mark.profile_independent
def test_the_gateway_may_not_charge_or_refund(api, unique):
    customer, order_id = f"c-{unique}", f"o-{unique}"
    fund(api, customer, "10.00")
    charge = {"orderId": order_id, "customerId": customer, "amount": "5.00"}
    for method, body in [("payments/charge", charge), ("payments/refund", charge)]:
        resp = sidecars.invoke("gateway", "payment-service", "POST", method, body)
        assert refused_by_callee_sidecar(resp, "gateway"), resp.text
    # ...with a caller id of its own choosing: the certificate says who calls
    with sidecars.sidecar("gateway") as client:
        resp = client.post(
            "/v1.0/invoke/payment-service/method/payments/charge",
            json=charge,
            headers={"dapr-caller-app-id": "order-service"},
        )
        assert refused_by_callee_sidecar(resp, "gateway"), resp.text
    assert balance(api, customer) == Decimal("10.00")
    assert payments(api, order_id) == []


@pytest.mark.profile_independent
@pytest.mark.parametrize(
    "via, target, verb, method",
    [
        ("inventory-service", "payment-service", "POST", "payments/charge"),
        ("notification-service", "payment-service", "PUT", "accounts/x"),
        ("order-service", "payment-service", "PUT", "accounts/x"),
        ("gateway", "inventory-service", "POST", "events/reserve-stock"),
        ("gateway", "order-service", "POST", "events/stock-replies"),
        ("payment-service", "order-service", "POST", "orders/x/cancel"),
        ("order-service", "notification-service", "POST", "dead-letters/1/redrive"),
    ],
)
def test_an_app_may_invoke_only_what_the_callee_allows_it(stack, via, target, verb, method):
    resp = sidecars.invoke(via, target, verb, method, {})
    assert refused_by_callee_sidecar(resp, via), resp.text


def test_the_callee_sidecar_refuses_inventory_service_a_charge(api, unique):
    """payment-service's daprd itself refuses inventory-service (403 PermissionDenied), by the
    identity in its certificate: the app is never asked, and nothing changes."""
    customer, order_id = f"c-{unique}", f"o-{unique}"
    fund(api, customer, "10.00")
    charge = {"orderId": order_id, "customerId": customer, "amount": "5.00"}
    resp = sidecars.invoke(
        "inventory-service", "payment-service", "POST", "payments/charge", charge
    )
    assert refused_by_callee_sidecar(resp, "inventory-service"), resp.text
    assert "PermissionDenied" in resp.json()["message"]
    assert balance(api, customer) == Decimal("10.00")
    assert payments(api, order_id) == []


def test_order_service_may_charge(api, unique):
    """The control: the saga's own call passes (a customer without an account is declined)."""
    body = {"orderId": f"o-{unique}", "customerId": f"nobody-{unique}", "amount": "1.00"}
    resp = sidecars.invoke("order-service", "payment-service", "POST", "payments/charge", body)
    assert resp.status_code == 200 and resp.json()["status"] == "DECLINED", resp.text


# ---- PostgreSQL -------------------------------------------------------------------------------


def test_postgres_wants_its_password(stack):
    if not any(r["name"] == "postgres" and alive(r) for r in records()):
        pytest.skip("PostgreSQL runs in the postgres profile only")
    import psycopg

    base = f"host=127.0.0.1 port={POSTGRES_PORT} user=postgres dbname=orders connect_timeout=5"
    for extra in ["", " password=wrong"]:
        with pytest.raises(psycopg.OperationalError, match="password"):
            psycopg.connect(base + extra, autocommit=True).close()
    with psycopg.connect(f"{base} password={postgres_password()}", autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


# ---- the sidecars' internal gRPC port: mTLS only ------------------------------------------------


def test_the_internal_grpc_port_refuses_a_caller_without_an_identity(stack, unique):
    import grpc

    body = {"orderId": f"o-{unique}", "customerId": f"nobody-{unique}", "amount": "1.00"}
    port = sidecars.spec("payment-service").internal_grpc_port
    with pytest.raises(grpc.RpcError):
        sidecars.call_internal(port, "POST", "payments/charge", body, caller="order-service")


@pytest.mark.parametrize("tls", [False, True], ids=["plaintext", "tls-without-client-cert"])
def test_a_forged_internal_call_is_refused_and_changes_nothing(api, unique, tls):
    """A local process speaking daprd's internal gRPC API (CallLocal) as order-service: in plain
    text, or over TLS trusting the run's CA but without a client certificate. The handshake
    fails before any request is read."""
    import grpc

    customer, order_id = f"c-{unique}", f"o-{unique}"
    fund(api, customer, "10.00")
    trust = TRUST_ANCHORS_FILE.read_bytes() if tls else None
    port = sidecars.spec("payment-service").internal_grpc_port
    charge = {"orderId": order_id, "customerId": customer, "amount": "5.00"}
    forged = [
        ("POST", "payments/charge", charge),
        ("PUT", f"accounts/{customer}", {"balance": "999.00"}),
    ]
    for verb, method, body in forged:
        with pytest.raises(grpc.RpcError) as refused:
            sidecars.call_internal(port, verb, method, body, caller="order-service", trust=trust)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
    assert balance(api, customer) == Decimal("10.00")
    assert payments(api, order_id) == []
