"""Provider states of the HTTP pacts, set up through the public API (the gateway, as an admin) or,
for payment-service's charge and refund, through the route order-service's saga calls. Each
returns the values the pact's requests take from it (`${orderId}`, `${letterId}`); a small HTTP
server hands them to the Pact verifier (pact-python's own callback server returns none)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from tests.integration.helpers import fund, notifications, place, stock, wait_for
from tests.integration.sidecars import invoke, publish_as_producer

CUSTOMER, PRODUCT, PAYER, POOR = (
    "contract-alice",
    "contract-book",
    "contract-bob",
    "contract-bob-poor",
)
Values = dict[str, str | int]


def fresh_order_id() -> str:
    return f"contract-{uuid.uuid4().hex[:16]}"


class ProviderStates:
    def __init__(self, api: httpx.Client) -> None:
        self.api = api
        self.setups: dict[str, Callable[[], Values]] = {
            "product contract-book is stocked and contract-alice is funded": self.ready_to_order,
            "product contract-book is stocked": self.stocked,
            "contract-alice is funded": self.funded,
            "contract-alice has an order": self.order,
            "contract-alice has a confirmed order": self.confirmed_order,
            "contract-alice has a shipped order": self.shipped_order,
            "a dead letter exists": self.dead_letter,
            "contract-bob is funded": self.payer_funded,
            "contract-bob-poor has no money": self.payer_broke,
            "contract-bob was charged for an order": self.payer_charged,
        }

    def set_up(self, state: str) -> Values:
        if not state:  # the verifier's call for an interaction without a state
            return {}
        if state not in self.setups:
            raise KeyError(f"no set-up for provider state {state!r}")
        return self.setups[state]()

    def stocked(self) -> Values:
        stock(self.api, PRODUCT, 1000)
        return {}

    def funded(self) -> Values:
        fund(self.api, CUSTOMER, "1000.00")
        return {}

    def ready_to_order(self) -> Values:
        return {**self.stocked(), **self.funded()}

    def order(self) -> Values:
        self.ready_to_order()
        placed = place(self.api, CUSTOMER, [(PRODUCT, 2, "12.50")])
        assert placed.status_code == 202, placed.text
        return {"orderId": placed.json()["orderId"]}

    def confirmed_order(self) -> Values:
        order_id = str(self.order()["orderId"])
        wait_for(self.api, order_id, {"CONFIRMED"}, saga={"COMPLETED"})
        assert notifications(self.api, order_id), f"no notification for {order_id}"
        return {"orderId": order_id}

    def shipped_order(self) -> Values:
        order_id = str(self.confirmed_order()["orderId"])
        shipped = self.api.post(f"/orders/{order_id}/ship")
        assert shipped.status_code == 200, shipped.text
        return {"orderId": order_id}

    def dead_letter(self) -> Values:
        """A reservation without items, published as order-service publishes them: inventory
        refuses it and notification-service keeps it."""
        marker = fresh_order_id()
        publish_as_producer("reserve-stock", {"orderId": marker}, key=marker)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for letter in self.api.get("/dead-letters", params={"limit": 500}).json()["items"]:
                if marker in letter["payload"] and letter["redrivenAt"] is None:
                    return {"letterId": letter["id"]}
            time.sleep(0.3)
        raise AssertionError(f"no dead letter for {marker}")

    def payer_funded(self) -> Values:
        fund(self.api, PAYER, "1000.00")
        return {"orderId": fresh_order_id()}

    def payer_broke(self) -> Values:
        fund(self.api, POOR, "0.00")
        return {"orderId": fresh_order_id()}

    def payer_charged(self) -> Values:
        order_id = str(self.payer_funded()["orderId"])
        body = {"orderId": order_id, "customerId": PAYER, "amount": "25.00"}
        charged = invoke("order-service", "payment-service", "POST", "payments/charge", body)
        assert charged.status_code == 200 and charged.json()["status"] == "CHARGED", charged.text
        return {"orderId": order_id}


@contextmanager
def state_server(states: ProviderStates) -> Iterator[str]:
    """The provider-state callback the verifier POSTs {state, params, action} to; it answers
    the state's values as JSON. Yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            try:
                values = states.set_up(request["state"]) if request["action"] == "setup" else {}
                status, body = 200, json.dumps(values).encode()
            except Exception as exc:  # reported by the verifier as the state's failure
                status, body = 500, json.dumps({"error": repr(exc)}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/provider-states"
    finally:
        server.shutdown()
        server.server_close()
