"""Orders at a steady rate through the gateway, the way clients send them, while a fault runs.

Each fault run gets fresh customers and products, so runs never share stock or money. The mix
exercises every path of the saga: most orders confirm, some fail for lack of funds, some for
lack of stock (all or none: their other line must not stay reserved), some are cancelled by
the client while in flight (before or after they confirm).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal

import httpx

CONFIRM, NO_FUNDS, NO_STOCK, CANCEL = "confirm", "no-funds", "no-stock", "cancel"
# Every block of ten orders holds each path at least once, in a shuffled order.
BLOCK = [CONFIRM] * 7 + [NO_FUNDS, NO_STOCK, CANCEL]
PRICES = ["1.25", "2.50", "4.75"]
RICH_FUNDS, POOR_FUNDS = Decimal("10000.00"), Decimal("1.00")  # every order costs >= 1.25
PLENTY, SCARCE = 1000, 3  # a no-stock order asks for 2 of the scarce product
RETRYABLE = {408, 425, 429, 500, 502, 503, 504}
CLIENT_TIMEOUT = 15.0


@dataclass
class Plan:
    """The customers and products of one fault run, and what each was given."""

    run_id: str
    rich: list[str]
    poor: str
    plenty: list[str]
    scarce: str

    @classmethod
    def fresh(cls) -> Plan:
        run = f"cx-{uuid.uuid4().hex[:10]}"
        return cls(
            run_id=run,
            rich=[f"{run}-c{i}" for i in range(3)],
            poor=f"{run}-poor",
            plenty=[f"{run}-p{i}" for i in range(3)],
            scarce=f"{run}-scarce",
        )

    @property
    def customers(self) -> list[str]:
        return [*self.rich, self.poor]

    @property
    def funded(self) -> dict[str, Decimal]:
        return {**{c: RICH_FUNDS for c in self.rich}, self.poor: POOR_FUNDS}

    @property
    def stocked(self) -> dict[str, int]:
        return {**{p: PLENTY for p in self.plenty}, self.scarce: SCARCE}


@dataclass
class SentOrder:
    """What the client knows about one order it tried to place."""

    index: int
    intent: str
    body: dict
    key: str
    order_id: str | None = None  # None: no attempt was answered with 202 (it may exist anyway)
    attempts: int = 0
    client_errors: list[str] = field(default_factory=list)  # 4xx answers: a harness bug
    retried_after: list[str] = field(default_factory=list)  # what each retried attempt got
    cancel_accepted: bool = False  # the API answered 202 to the cancel: it must end CANCELLED


def set_up(api: httpx.Client, plan: Plan, deadline: float) -> None:
    """Stock and funds for this run, retried while the stack is still recovering."""
    for product, available in plan.stocked.items():
        _put_until(api, f"/inventory/{product}", {"available": available}, deadline)
    for customer, balance in plan.funded.items():
        _put_until(api, f"/accounts/{customer}", {"balance": str(balance)}, deadline)


def _put_until(api: httpx.Client, path: str, body: dict, deadline: float) -> None:
    while True:
        try:
            resp = api.put(path, json=body)
            if resp.status_code == 200:
                return
            last = f"{resp.status_code} {resp.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        if time.monotonic() > deadline:
            raise RuntimeError(f"set-up PUT {path} failed: {last}")
        time.sleep(0.5)


def make_orders(plan: Plan, count: int, seed: int) -> list[SentOrder]:
    rng = random.Random(seed)
    intents: list[str] = []
    while len(intents) < count:
        block = list(BLOCK)
        rng.shuffle(block)
        intents += block
    orders = []
    for i, intent in enumerate(intents[:count]):
        product = rng.choice(plan.plenty)
        line = {
            "productId": product,
            "quantity": rng.randint(1, 3),
            "unitPrice": rng.choice(PRICES),
        }
        if intent == NO_FUNDS:
            items, customer = [line], plan.poor
        elif intent == NO_STOCK:
            scarce = {"productId": plan.scarce, "quantity": 2, "unitPrice": "1.25"}
            items, customer = [line, scarce], rng.choice(plan.rich)
        else:
            items = [line]
            if intent == CONFIRM and rng.random() < 0.3:  # some orders span two products
                other = rng.choice([p for p in plan.plenty if p != product])
                items.append({"productId": other, "quantity": 1, "unitPrice": "2.50"})
            customer = rng.choice(plan.rich)
        body = {"customerId": customer, "items": items}
        orders.append(SentOrder(i, intent, body, key=f"{plan.run_id}-o{i}"))
    return orders


class Load:
    """Sends the orders evenly over `window` seconds in the background. Each POST carries an
    Idempotency-Key and is retried on errors until `give_up_after` seconds after its slot, as a
    client would; a cancel-intent order is cancelled 0-2 s after it was accepted."""

    def __init__(
        self,
        api: httpx.Client,
        orders: list[SentOrder],
        window: float,
        give_up_after: float = 120.0,
        workers: int = 24,
        seed: int = 0,
    ) -> None:
        self.api, self.orders, self.window = api, orders, window
        self.give_up_after = give_up_after
        self.rng = random.Random(seed)
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="chaos-load")
        self.lock = threading.Lock()
        self.started = 0.0
        self.late_starts = 0  # orders sent more than 1 s after their slot (all workers busy)

    def start(self) -> None:
        self.started = time.monotonic()
        interval = self.window / max(len(self.orders), 1)
        self.futures = [
            self.pool.submit(self._send, order, self.started + i * interval)
            for i, order in enumerate(self.orders)
        ]

    def wait(self) -> None:
        for future in self.futures:
            future.result()  # the workers catch their own errors; this re-raises harness bugs
        self.pool.shutdown()

    def _send(self, order: SentOrder, slot: float) -> None:
        now = time.monotonic()
        if now < slot:
            time.sleep(slot - now)
        elif now - slot > 1.0:
            with self.lock:
                self.late_starts += 1
        give_up = slot + self.give_up_after
        order.order_id = self._post_until(order, give_up)
        if order.order_id and order.intent == CANCEL:
            with self.lock:
                delay = self.rng.uniform(0.0, 2.0)
            time.sleep(delay)
            order.cancel_accepted = self._cancel_until(order, give_up)

    def _post_until(self, order: SentOrder, give_up: float) -> str | None:
        headers = {"Idempotency-Key": order.key}
        while time.monotonic() < give_up:
            order.attempts += 1
            try:
                resp = self.api.post("/orders", json=order.body, headers=headers)
                if resp.status_code == 202:
                    return resp.json()["orderId"]
                if resp.status_code not in RETRYABLE:
                    order.client_errors.append(f"POST {resp.status_code}: {resp.text[:200]}")
                    return None
                order.retried_after.append(f"POST {resp.status_code}: {resp.text[:200]}")
            except httpx.HTTPError as exc:  # refused or timed out: the same key makes a retry safe
                order.retried_after.append(f"POST {type(exc).__name__}: {exc}")
            time.sleep(1.0)
        return None

    def _cancel_until(self, order: SentOrder, give_up: float) -> bool:
        while time.monotonic() < give_up:
            try:
                resp = self.api.post(f"/orders/{order.order_id}/cancel")
                if resp.status_code == 202:
                    return True
                if resp.status_code not in RETRYABLE:
                    order.client_errors.append(f"cancel {resp.status_code}: {resp.text[:200]}")
                    return False
                order.retried_after.append(f"cancel {resp.status_code}: {resp.text[:200]}")
            except httpx.HTTPError as exc:  # a cancel is idempotent: retrying it is what clients do
                order.retried_after.append(f"cancel {type(exc).__name__}: {exc}")
            time.sleep(1.0)
        return False
