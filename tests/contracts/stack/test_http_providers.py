"""Provider verification of every HTTP pact (contracts/pacts) against the real apps of the running
stack.

Each pact is replayed exactly as its consumer sends it: to the consumer's own sidecar
(`/v1.0/invoke/<provider>/method/...`) with that sidecar's Dapr API token. So the call meets what
the consumer's calls meet in production: daprd's name resolution, the provider's sidecar adding
the app token (APP_API_TOKEN) and the caller's id, and the provider's access list
(dapr/<provider>.yaml) for that caller. Calling the app port directly with its app token would
skip the access list: a pact the consumer may not even call would pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pact import Verifier

from deploy.stack.secrets import dapr_headers
from tests.contracts.pacts import PACT_DIR
from tests.contracts.stack.states import ProviderStates, state_server
from tests.contracts.stack.verify import is_http, parties, run
from tests.integration.sidecars import spec

HTTP_PACTS = sorted(p for p in PACT_DIR.glob("*.json") if is_http(p))


def verifier_for(pact_file: Path, states_url: str) -> Verifier:
    consumer, provider = parties(pact_file)
    verifier = (
        Verifier(provider, host="127.0.0.1")
        .add_transport(protocol="http", scheme="http", port=spec(consumer).http_port)
        .add_source(pact_file)
        .state_handler(states_url, teardown=False, body=True)
        .set_request_timeout(30_000)
    )
    for name, value in dapr_headers(consumer).items():
        verifier.add_custom_header(name, value)
    return verifier


def test_every_http_edge_has_a_pact():
    assert {parties(p) for p in HTTP_PACTS} == {
        ("gateway", "order-service"),
        ("gateway", "inventory-service"),
        ("gateway", "payment-service"),
        ("gateway", "notification-service"),
        ("order-service", "payment-service"),
    }


@pytest.mark.parametrize("pact_file", HTTP_PACTS, ids=lambda p: p.stem)
def test_provider_honours_pact(api, pact_file):
    with state_server(ProviderStates(api)) as states_url:
        passed, report = run(verifier_for(pact_file, states_url))
    assert passed, report


def test_a_pact_expecting_another_type_fails_naming_the_field_and_both_services(api, tmp_path):
    """A modified copy of the gateway's pact with payment-service, whose balance is a number
    instead of the decimal string payment-service sends, fails against the real app."""
    doc = json.loads((PACT_DIR / "gateway-payment-service.json").read_text())
    wanted = "a request for a customer's balance"
    doc["interactions"] = [i for i in doc["interactions"] if i["description"] == wanted]
    response = doc["interactions"][0]["response"]
    response["body"]["content"]["balance"] = 100
    response["matchingRules"]["body"]["$.balance"] = {
        "combine": "AND",
        "matchers": [{"match": "integer"}],
    }
    broken = tmp_path / "gateway-payment-service.json"
    broken.write_text(json.dumps(doc))
    with state_server(ProviderStates(api)) as states_url:
        passed, report = run(verifier_for(broken, states_url))
    assert not passed, report
    assert "Verifying a pact between gateway and payment-service" in report
    assert "$.balance" in report, report
