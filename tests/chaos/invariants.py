"""What "every order ends right" means, checked at rest after a fault.

`check` is pure (a snapshot in, the list of breaks out; each break names its order, product or
customer); `settle` waits for the stack to come to rest, with deadlines, and gathers snapshots
through the public API.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

import httpx

from deploy.stack.secrets import app_headers
from tests.chaos.load import Plan, SentOrder

TERMINAL = {"CONFIRMED", "CANCELLED"}
TERMINAL_WITHIN = 60.0  # every order CONFIRMED or CANCELLED this long after the fault ended
SETTLE_WITHIN = 30.0  # then stock, money and notifications at rest within this much more
CHARGED, REFUNDED = "CHARGED", "REFUNDED"
T = TypeVar("T")


@dataclass
class Snapshot:
    """Everything the invariants look at, as the public API shows it."""

    orders: dict[str, dict]  # every order of the run's customers, by id
    payments: dict[str, list[dict]]  # by order id
    notifications: dict[str, list[dict]]  # by order id
    stock: dict[str, dict | None]  # by product id; None: no stock record
    balances: dict[str, Decimal | None]  # by customer id; None: no account


def check(plan: Plan, sent: list[SentOrder], snap: Snapshot) -> list[str]:
    breaks: list[str] = []
    breaks += _client_view(sent, snap)
    for order in snap.orders.values():
        breaks += _order_end(order)
        breaks += _order_money(order, snap.payments.get(order["orderId"], []))
        breaks += _order_notifications(order, snap.notifications.get(order["orderId"], []))
    breaks += _stock(plan, snap)
    breaks += _balances(plan, snap)
    return breaks


def _client_view(sent: list[SentOrder], snap: Snapshot) -> list[str]:
    breaks = []
    for s in sent:
        breaks += [f"order #{s.index} ({s.key}): client got {e}" for e in s.client_errors]
        if s.order_id is None:
            continue
        order = snap.orders.get(s.order_id)
        if order is None:
            breaks.append(f"order {s.order_id}: accepted (202) but not in the customer's orders")
        elif s.cancel_accepted and order["status"] != "CANCELLED":
            breaks.append(f"order {s.order_id}: cancel accepted (202) but order {order['status']}")
    return breaks


def _order_end(order: dict) -> list[str]:
    oid, status, saga = order["orderId"], order["status"], order["saga"]
    if status not in TERMINAL:
        return [f"order {oid}: stuck in {status} (saga {saga['status']}, {_steps(saga)})"]
    wanted = {"COMPLETED"} if status == "CONFIRMED" else {"COMPENSATED", "FAILED"}
    if saga["status"] not in wanted:
        return [f"order {oid}: {status} but saga {saga['status']} ({_steps(saga)})"]
    return []


def _steps(saga: dict) -> str:
    reason = f", reason {saga['failureReason']!r}" if saga.get("failureReason") else ""
    return f"done {saga['completedSteps']}, undone {saga['compensatedSteps']}{reason}"


def _order_money(order: dict, payments: list[dict]) -> list[str]:
    oid, status = order["orderId"], order["status"]
    taken = [p for p in payments if p["status"] in (CHARGED, REFUNDED)]
    kept = [p for p in payments if p["status"] == CHARGED]
    breaks = []
    if len(taken) > 1:
        breaks.append(f"order {oid}: {len(taken)} charged-or-refunded payments {_pays(payments)}")
    if status == "CANCELLED" and kept:
        breaks.append(f"order {oid}: CANCELLED but its charge is kept {_pays(payments)}")
    if status == "CONFIRMED" and (
        len(kept) != 1 or Decimal(kept[0]["amount"]) != Decimal(order["totalAmount"])
    ):
        breaks.append(
            f"order {oid}: CONFIRMED for {order['totalAmount']} but payments {_pays(payments)}"
        )
    return breaks


def _pays(payments: list[dict]) -> str:
    return str([(p["status"], p["amount"]) for p in payments])


def _order_notifications(order: dict, notes: list[dict]) -> list[str]:
    """One notification per terminal order, of its kind. An order confirmed and then cancelled
    by its client was announced twice, truthfully: once confirmed, once cancelled."""
    if order["status"] not in TERMINAL:
        return []
    kinds = Counter(n["type"] for n in notes)
    was_confirmed = "ORDER_CONFIRMED" in order["saga"]["completedSteps"]
    if order["status"] == "CONFIRMED":
        wanted = Counter({"ORDER_CONFIRMED": 1})
    else:
        wanted = Counter({"ORDER_CANCELLED": 1, "ORDER_CONFIRMED": int(was_confirmed)})
    if +kinds != +wanted:
        return [f"order {order['orderId']}: {order['status']}, notifications {dict(kinds)}"]
    return []


def _stock(plan: Plan, snap: Snapshot) -> list[str]:
    sold: Counter[str] = Counter()
    for order in snap.orders.values():
        if order["status"] == "CONFIRMED":
            for line in order["items"]:
                sold[line["productId"]] += line["quantity"]
    breaks = []
    for product, stocked in plan.stocked.items():
        level = snap.stock.get(product)
        if level is None:
            breaks.append(f"product {product}: no stock record")
            continue
        available, reserved = level["available"], level["reserved"]
        if available + reserved + sold[product] != stocked or reserved != 0:
            breaks.append(
                f"product {product}: available {available} + reserved {reserved} + sold "
                f"{sold[product]} != stocked {stocked} (or reserved != 0)"
            )
    return breaks


def _balances(plan: Plan, snap: Snapshot) -> list[str]:
    charged: defaultdict[str, Decimal] = defaultdict(Decimal)
    refunded: defaultdict[str, Decimal] = defaultdict(Decimal)
    for payments in snap.payments.values():
        for p in payments:
            if p["status"] in (CHARGED, REFUNDED):
                charged[p["customerId"]] += Decimal(p["amount"])
            if p["status"] == REFUNDED:
                refunded[p["customerId"]] += Decimal(p["amount"])
    breaks = []
    for customer, funded in plan.funded.items():
        balance = snap.balances.get(customer)
        if balance is None:
            breaks.append(f"customer {customer}: no account")
        elif balance + charged[customer] - refunded[customer] != funded:
            breaks.append(
                f"customer {customer}: balance {balance} + charged {charged[customer]} - "
                f"refunded {refunded[customer]} != funded {funded}"
            )
    return breaks


# ---- at rest ------------------------------------------------------------------------------


@dataclass
class AtRest:
    orders: dict[str, dict]
    breaks: list[str]
    stuck: int  # orders not CONFIRMED or CANCELLED by the deadline
    last_end: float | None  # wall-clock time the last order ended (its updatedAt)
    evaluations: int = 0


def settle(api: httpx.Client, plan: Plan, sent: list[SentOrder], fault_end: float) -> AtRest:
    """Waits (monotonic `fault_end`) until every order is terminal, then until the invariants
    hold, each with its deadline; the last evaluation is the verdict."""
    terminal_deadline = fault_end + TERMINAL_WITHIN
    orders = _retrying(lambda: list_orders(api, plan.customers), terminal_deadline)
    while not _all_terminal(orders, sent) and time.monotonic() < terminal_deadline:
        time.sleep(1.0)
        orders = _retrying(lambda: list_orders(api, plan.customers), terminal_deadline) or orders
    stuck = sum(o["status"] not in TERMINAL for o in orders.values())
    settle_deadline = time.monotonic() + (SETTLE_WITHIN if not stuck else 0)
    evaluations = 0
    while True:
        snap = gather(api, plan, orders)
        evaluations += 1
        breaks = check(plan, sent, snap)
        if not breaks or time.monotonic() > settle_deadline:
            break
        time.sleep(2.0)
        orders = _retrying(lambda: list_orders(api, plan.customers), settle_deadline) or orders
    ends = [_wall(o["updatedAt"]) for o in snap.orders.values() if o["status"] in TERMINAL]
    return AtRest(
        orders=snap.orders,
        breaks=breaks,
        stuck=sum(o["status"] not in TERMINAL for o in snap.orders.values()),
        last_end=max(ends) if ends else None,
        evaluations=evaluations,
    )


def _all_terminal(orders: dict[str, dict], sent: list[SentOrder]) -> bool:
    accepted = {s.order_id for s in sent if s.order_id}
    listed_all = accepted <= orders.keys()
    return listed_all and all(o["status"] in TERMINAL for o in orders.values())


def _wall(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def list_orders(api: httpx.Client, customers: list[str]) -> dict[str, dict]:
    orders: dict[str, dict] = {}
    for customer in customers:
        cursor = None
        while True:
            params = {"customerId": customer, "limit": "100"}
            if cursor:
                params["cursor"] = cursor
            page = _ok(api.get("/orders", params=params))
            orders.update({o["orderId"]: o for o in page["items"]})
            cursor = page.get("next")
            if not cursor:
                break
    return orders


def gather(api: httpx.Client, plan: Plan, orders: dict[str, dict]) -> Snapshot:
    deadline = time.monotonic() + 60

    def get(path: str, params: dict | None = None, missing: int | None = None) -> dict | None:
        def once() -> dict | None:
            resp = api.get(path, params=params)
            return None if resp.status_code == missing else _ok(resp)

        return _retrying(once, deadline, raise_at_end=True)

    with ThreadPoolExecutor(8) as pool:
        pays = pool.map(lambda o: get("/payments", {"orderId": o}), orders)
        notes = pool.map(lambda o: get("/notifications", {"orderId": o}), orders)
        stock = pool.map(lambda p: get(f"/inventory/{p}", missing=404), plan.stocked)
        accounts = pool.map(lambda c: get(f"/accounts/{c}", missing=404), plan.funded)
        return Snapshot(
            orders=orders,
            payments={o: r["items"] for o, r in zip(orders, pays, strict=True) if r},
            notifications={o: r["items"] for o, r in zip(orders, notes, strict=True) if r},
            stock=dict(zip(plan.stocked, stock, strict=True)),
            balances={
                c: Decimal(a["balance"]) if a else None
                for c, a in zip(plan.funded, accounts, strict=True)
            },
        )


def _ok(resp: httpx.Response) -> dict:
    if resp.status_code != 200:
        raise RuntimeError(f"{resp.request.method} {resp.request.url} -> {resp.status_code}")
    return resp.json()


def _retrying(call: Callable[[], T], deadline: float, raise_at_end: bool = False) -> T:
    """The call's result; while the stack recovers, API calls fail for a while."""
    while True:
        try:
            return call()
        except (httpx.HTTPError, RuntimeError):
            if time.monotonic() > deadline:
                if raise_at_end:
                    raise
                return {}  # type: ignore[return-value]
            time.sleep(1.0)


# ---- dead letters -------------------------------------------------------------------------

NOTIFICATION_SERVICE = "http://127.0.0.1:8004"


def dead_letters(api: httpx.Client) -> tuple[str, list[dict]] | None:
    """(where they were read, the dead letters kept), or None when nothing lists them. The
    public `GET /api/v1/dead-letters` if the gateway has it, else notification-service's own."""
    try:
        resp = api.get("/dead-letters", params={"limit": "500"})
        if resp.status_code == 200:
            return "GET /api/v1/dead-letters", resp.json()["items"]
        headers = app_headers("notification-service")  # straight to the app: its token
        resp = httpx.get(f"{NOTIFICATION_SERVICE}/dead-letters", headers=headers, timeout=10)
        if resp.status_code == 200:
            return "notification-service GET /dead-letters", resp.json()["items"]
    except (httpx.HTTPError, ValueError, KeyError):
        pass
    return None


def dead_letter_key(item: dict) -> str:
    return str(item.get("id") or (item.get("receivedAt"), item.get("payload")))


def new_dead_letters(
    before: tuple[str, list[dict]] | None,
    after: tuple[str, list[dict]] | None,
    ids: set[str],
) -> list[dict] | None:
    """The dead letters that appeared during the run, each with its topic, reason and whether
    it concerns this run (its payload names one of `ids`). None: not available."""
    if before is None or after is None:
        return None
    seen = {dead_letter_key(d) for d in before[1]}
    return [
        {
            "topic": d.get("topic") or "(not recorded)",
            "reason": d.get("reason") or "",
            "thisRun": any(i in str(d.get("payload", "")) for i in ids),
            "payload": str(d.get("payload", ""))[:300],
        }
        for d in after[1]
        if dead_letter_key(d) not in seen
    ]


def mark_dead_lettered(breaks: list[str], letters: list[dict] | None) -> list[str]:
    """Appends to each break about an order the topics its dead letters came from: what an
    operator would find (and could redrive) for it."""
    if not letters:
        return breaks
    marked = []
    for text in breaks:
        subject = text.split(":", 1)[0].removeprefix("order ")
        topics = sorted({d["topic"] for d in letters if subject in d["payload"]})
        marked.append(text + (f" [dead-lettered on {', '.join(topics)}]" if topics else ""))
    return marked
