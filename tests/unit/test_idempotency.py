"""Idempotency keys belong to a customer and compare the parsed request (real SQLite)."""

import pytest

from apps.common.contracts import PlaceOrder
from apps.order_service import commands, errors, views


def request(customer: str, price: object, quantity: int = 2) -> PlaceOrder:
    line = {"productId": "book", "quantity": quantity, "unitPrice": price}
    return PlaceOrder.model_validate({"customerId": customer, "items": [line]})


def place(db, order: PlaceOrder, key: str | None):
    return commands.place_order(db, order, key, None)


def test_one_request_written_two_ways_hashes_the_same():
    assert commands.request_hash(request("c1", 12.5)) == commands.request_hash(
        request("c1", "12.50")
    )
    assert commands.request_hash(request("c1", "12.50")) != commands.request_hash(
        request("c1", "12.51")
    )
    assert commands.request_hash(request("c1", "1")) != commands.request_hash(request("c2", "1"))


def test_a_replay_written_differently_returns_the_same_order(sqlite_db):
    first, new = place(sqlite_db, request("alice", 12.5), "k1")
    again, again_new = place(sqlite_db, request("alice", "12.50"), "k1")
    assert new and not again_new and again.order_id == first.order_id


def test_a_key_belongs_to_its_customer(sqlite_db):
    alice, _ = place(sqlite_db, request("alice", "1.00"), "shared-key")
    bob, bob_new = place(sqlite_db, request("bob", "1.00"), "shared-key")
    assert bob_new and bob.order_id != alice.order_id and bob.customer_id == "bob"
    assert place(sqlite_db, request("bob", "1.00"), "shared-key")[0].order_id == bob.order_id


def test_the_same_key_with_another_request_is_a_conflict(sqlite_db):
    place(sqlite_db, request("alice", "1.00"), "k1")
    with pytest.raises(errors.IdempotencyConflict):
        place(sqlite_db, request("alice", "1.00", quantity=3), "k1")


def test_large_totals_are_stored_exactly(sqlite_db):
    row, _ = place(sqlite_db, request("alice", "1000000.00", quantity=30), None)
    assert row.total_cents == 3_000_000_000
    assert views.order_view(sqlite_db, row)["totalAmount"] == "30000000.00"
