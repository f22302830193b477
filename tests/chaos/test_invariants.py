"""The invariant checks themselves (pure logic, no stack): a consistent snapshot passes, and
each kind of damage is reported naming its order, product or customer."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from tests.chaos.invariants import Snapshot, check, mark_dead_lettered, new_dead_letters
from tests.chaos.load import PLENTY, POOR_FUNDS, RICH_FUNDS, SCARCE, Plan, SentOrder

PLAN = Plan("cx-t", rich=["c0"], poor="poor", plenty=["p0"], scarce="s0")


def _order(oid: str, status: str, saga: str, qty: int, total: str, steps: list[str]) -> dict:
    return {
        "orderId": oid,
        "customerId": "c0",
        "status": status,
        "totalAmount": total,
        "items": [{"productId": "p0", "quantity": qty, "unitPrice": total}],
        "saga": {"status": saga, "completedSteps": steps, "compensatedSteps": []},
        "updatedAt": "2025-01-01T00:00:00.000Z",
    }


def _pay(oid: str, status: str, amount: str) -> dict:
    return {"orderId": oid, "customerId": "c0", "status": status, "amount": amount}


def consistent() -> tuple[list[SentOrder], Snapshot]:
    """o1 confirmed (2 x 5.00), o2 out of stock, o3 confirmed then cancelled by its client."""
    orders = {
        "o1": _order("o1", "CONFIRMED", "COMPLETED", 2, "5.00", ["ORDER_CONFIRMED"]),
        "o2": _order("o2", "CANCELLED", "FAILED", 1, "1.00", []),
        "o3": _order("o3", "CANCELLED", "COMPENSATED", 1, "3.00", ["ORDER_CONFIRMED"]),
    }
    sent = [
        SentOrder(0, "confirm", {}, "k0", order_id="o1"),
        SentOrder(1, "no-stock", {}, "k1", order_id="o2"),
        SentOrder(2, "cancel", {}, "k2", order_id="o3", cancel_accepted=True),
    ]
    snap = Snapshot(
        orders=orders,
        payments={"o1": [_pay("o1", "CHARGED", "5.00")], "o3": [_pay("o3", "REFUNDED", "3.00")]},
        notifications={
            "o1": [{"type": "ORDER_CONFIRMED"}],
            "o2": [{"type": "ORDER_CANCELLED"}],
            "o3": [{"type": "ORDER_CONFIRMED"}, {"type": "ORDER_CANCELLED"}],
        },
        stock={
            "p0": {"available": PLENTY - 2, "reserved": 0},
            "s0": {"available": SCARCE, "reserved": 0},
        },
        balances={"c0": RICH_FUNDS - Decimal("5.00"), "poor": POOR_FUNDS},
    )
    return sent, snap


def test_a_consistent_run_has_no_breaks() -> None:
    sent, snap = consistent()
    assert check(PLAN, sent, snap) == []


def _o1(snap: Snapshot) -> dict:
    return snap.orders["o1"]


DAMAGE = {
    "order o1: stuck in PAYMENT_PENDING": lambda s: _o1(s).update(status="PAYMENT_PENDING"),
    "order o1: CONFIRMED but saga STARTED": lambda s: _o1(s)["saga"].update(status="STARTED"),
    "order o2: CANCELLED but saga COMPLETED": lambda s: s.orders["o2"]["saga"].update(
        status="COMPLETED"
    ),
    "product p0: available": lambda s: s.stock["p0"].update(reserved=1),
    "product s0: no stock record": lambda s: s.stock.update(s0=None),
    "customer c0: balance": lambda s: s.balances.update(c0=RICH_FUNDS),
    "order o3: CANCELLED but its charge is kept": lambda s: s.payments["o3"][0].update(
        status="CHARGED"
    ),
    "order o1: CONFIRMED for 5.00 but payments": lambda s: s.payments["o1"][0].update(
        amount="4.00"
    ),
    "order o2: CANCELLED, notifications": lambda s: s.notifications["o2"].append(
        {"type": "ORDER_CANCELLED"}
    ),
    "order o1: CONFIRMED, notifications": lambda s: s.notifications.pop("o1"),
}


@pytest.mark.parametrize("expected", DAMAGE)
def test_each_damage_is_named(expected: str) -> None:
    sent, snap = consistent()
    snap = copy.deepcopy(snap)
    DAMAGE[expected](snap)
    breaks = check(PLAN, sent, snap)
    assert any(b.startswith(expected) for b in breaks), breaks


def test_an_accepted_cancel_must_end_cancelled_and_accepted_orders_must_exist() -> None:
    sent, snap = consistent()
    sent[2].cancel_accepted = True
    snap.orders["o3"].update(status="CONFIRMED")
    snap.orders["o3"]["saga"].update(status="COMPLETED")
    del snap.orders["o2"]
    breaks = check(PLAN, sent, snap)
    assert "order o3: cancel accepted (202) but order CONFIRMED" in breaks
    assert "order o2: accepted (202) but not in the customer's orders" in breaks


def test_new_dead_letters_are_the_ones_that_appeared() -> None:
    old = {"id": 1, "topic": "reserve-stock", "payload": "{}"}
    new = {"id": 2, "topic": "release-stock", "payload": '{"orderId": "o2"}'}
    found = new_dead_letters(("api", [old]), ("api", [new, old]), {"o2"})
    assert found == [
        {
            "topic": "release-stock",
            "reason": "",
            "thisRun": True,
            "payload": '{"orderId": "o2"}',
        }
    ]
    assert new_dead_letters(None, ("api", [new]), {"o2"}) is None


def test_breaks_name_the_dead_letters_of_their_order() -> None:
    letters = [{"topic": "order-confirmed", "payload": '{"orderId": "o1"}'}]
    marked = mark_dead_lettered(["order o1: CONFIRMED, notifications {}", "product p0: x"], letters)
    assert marked == [
        "order o1: CONFIRMED, notifications {} [dead-lettered on order-confirmed]",
        "product p0: x",
    ]
