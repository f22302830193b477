"""The per-saga writes of inventory, payment and notification under concurrency, on the profile's
database: SQLite, or the stack's PostgreSQL server (a scratch database, dropped after), where
row locks, conditional UPDATEs and INSERT ... ON CONFLICT carry the guarantees."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import pytest

import apps.inventory_service.store
import apps.payment_service.store  # noqa: F401 (their tables, in SQLModel.metadata)
from apps.common.contracts import ChargePayment, ReserveStock
from apps.common.db import Database
from apps.inventory_service import stock
from apps.notification_service import notifications
from apps.notification_service.store import create_tables
from apps.payment_service import payments
from tests.integration.helpers import scratch_postgres_database


@pytest.fixture
def db(stack: None, tmp_path: Path) -> Iterator[Database]:
    if os.environ.get("PROFILE") != "postgres":
        database = Database(f"sqlite:///{tmp_path}/races.db")
        create_tables(database)
        yield database
        return
    with scratch_postgres_database("races") as url:
        database = Database(url)
        create_tables(database)
        yield database
        database.engine.dispose()


def together(*calls: Callable[[], object]) -> list:
    with ThreadPoolExecutor(len(calls)) as pool:
        return [f.result() for f in [pool.submit(call) for call in calls]]


def reserve(db: Database, order_id: str, *lines: tuple[str, int]):
    items = [{"productId": p, "quantity": q} for p, q in lines]
    return stock.reserve_stock(
        db, ReserveStock.model_validate({"orderId": order_id, "items": items})
    )


def charge(db: Database, order_id: str, customer: str, amount: str):
    cmd = ChargePayment(order_id=order_id, customer_id=customer, amount=Decimal(amount))
    return payments.charge(db, cmd)


def level(db: Database, product: str) -> tuple[int, int]:
    item = stock.get_stock(db, product)
    return item.available, item.reserved


def test_parallel_reservations_never_oversell_and_a_duplicate_reserves_once(db):
    stock.set_available(db, "a", 7)
    stock.set_available(db, "b", 100)
    replies = together(
        *[lambda i=i: reserve(db, f"o{i}", ("b", 1), ("a", 1))[0] for i in range(24)]
    )
    assert sum(r.reserved for r in replies) == 7
    assert level(db, "a") == (0, 7) and level(db, "b") == (93, 7)
    results = together(*[lambda: reserve(db, "o-dup", ("b", 2))] * 8)
    assert sum(changed for _, changed in results) == 1 and all(r.reserved for r, _ in results)
    assert level(db, "b") == (91, 9)


def test_racing_reserve_sell_and_releases_leave_every_unit_accounted_for(db):
    stock.set_available(db, "a", 1000)
    for i in range(12):
        order = f"o{i}"
        together(
            lambda o=order: reserve(db, o, ("a", 3)),
            lambda o=order: stock.commit_sale(db, o),
            lambda o=order: stock.release_stock(db, o),
            lambda o=order: stock.release_stock(db, o),
        )
        assert not reserve(db, order, ("a", 3))[0].reserved  # released: refused for good
    assert level(db, "a") == (1000, 0)


def test_parallel_charges_never_overdraw_and_a_duplicate_charges_once(db):
    payments.set_balance(db, "c1", Decimal("5.00"))
    results = together(*[lambda i=i: charge(db, f"o{i}", "c1", "1.00") for i in range(16)])
    assert sum(p.status == "CHARGED" for p in results) == 5
    assert payments.get_account(db, "c1").balance_cents == 0
    payments.set_balance(db, "c2", Decimal("30000000.00"))
    results = together(*[lambda: charge(db, "o-dup", "c2", "21474836.48")] * 8)
    assert len({p.payment_id for p in results}) == 1 and results[0].status == "CHARGED"
    assert payments.get_account(db, "c2").balance_cents == 3_000_000_000 - 2_147_483_648


def test_racing_charge_and_refunds_take_no_money(db):
    payments.set_balance(db, "c1", Decimal("1000.00"))
    for i in range(12):
        order = f"o{i}"
        together(
            lambda o=order: charge(db, o, "c1", "10.00"),
            lambda o=order: payments.refund(db, o, "c1"),
            lambda o=order: payments.refund(db, o, "c1"),
        )
        [payment] = payments.payments_for_order(db, order)
        assert payment.status in ("REFUNDED", "DECLINED")
        assert charge(db, order, "c1", "10.00").status == payment.status  # a late charge
    assert payments.get_account(db, "c1").balance_cents == 100_000


def test_parallel_duplicate_notifications_are_sent_once(db):
    sent = together(*[lambda: notifications.notify(db, "o1", "c1", "ORDER_CONFIRMED")] * 8)
    assert sum(sent) == 1
    assert len(notifications.notifications_for_order(db, "o1")) == 1
