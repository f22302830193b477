"""Money columns hold every amount validation accepts, on both profiles (BIGINT cents: a 32-bit
INTEGER ends at 21,474,836.47), and a PostgreSQL database an older version created is upgraded
at start-up."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, inspect, text

import apps.order_service.store
import apps.payment_service.store  # noqa: F401 (both put their tables in the metadata)
from apps.common.db import Database
from tests.integration.helpers import (
    balance,
    fund,
    payments,
    place,
    scratch_postgres_database,
    stock,
    wait_for,
)
from tests.integration.test_internal_input import invoke


def test_an_order_of_thirty_million_is_confirmed_and_charged_exactly(api, unique):
    product, customer = f"p-{unique}", f"c-{unique}"
    stock(api, product, 30)
    fund(api, customer, "50000000.00")
    resp = place(api, customer, [(product, 30, "1000000.00")])
    assert resp.status_code == 202, resp.text
    assert resp.json()["totalAmount"] == "30000000.00"
    order = wait_for(api, resp.json()["orderId"], {"CONFIRMED", "CANCELLED"})
    assert order["status"] == "CONFIRMED", order["saga"]
    assert balance(api, customer) == Decimal("20000000.00")
    assert [(p["status"], p["amount"]) for p in payments(api, order["orderId"])] == [
        ("CHARGED", "30000000.00")
    ]


def test_the_largest_charge_is_taken_and_one_cent_more_is_refused(api, unique):
    customer = f"c-{unique}"
    fund(api, customer, "100000000000.00")
    too_much = {"orderId": f"o-{unique}", "customerId": customer, "amount": "100000000000.01"}
    assert invoke("payment-service", "POST", "payments/charge", too_much).status_code == 422
    largest = {**too_much, "amount": "100000000000.00"}
    resp = invoke("payment-service", "POST", "payments/charge", largest)
    assert resp.json()["status"] == "CHARGED", resp.text
    assert balance(api, customer) == Decimal("0.00")


OLD_SCHEMA = [
    """CREATE TABLE orders (order_id VARCHAR(64) PRIMARY KEY, customer_id VARCHAR(64) NOT NULL,
       status VARCHAR NOT NULL, total_cents INTEGER NOT NULL,
       idempotency_key VARCHAR(200) UNIQUE, request_hash VARCHAR NOT NULL)""",
    """CREATE TABLE order_line (id SERIAL PRIMARY KEY, order_id VARCHAR(64) NOT NULL
       REFERENCES orders (order_id), product_id VARCHAR(64) NOT NULL, quantity INTEGER NOT NULL,
       unit_price_cents INTEGER NOT NULL)""",
    """CREATE TABLE account (customer_id VARCHAR(64) PRIMARY KEY,
       balance_cents INTEGER NOT NULL)""",
    """INSERT INTO orders VALUES ('o1', 'alice', 'CONFIRMED', 1250, 'k1', 'h')""",
    """INSERT INTO account VALUES ('alice', 2147483647)""",
]


@pytest.mark.skipif(os.environ.get("PROFILE") != "postgres", reason="PostgreSQL profile only")
def test_an_old_postgres_database_is_upgraded_at_start_up(stack):
    with scratch_postgres_database("upgrade") as url:
        old = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        with old.begin() as conn:
            for statement in OLD_SCHEMA:
                conn.execute(text(statement))
        old.dispose()
        for _ in range(2):  # idempotent: a second start changes nothing
            db = Database(url)
            db.create_tables()
            schema = inspect(db.engine)
            types = {
                (t, c["name"]): str(c["type"])
                for t in ("orders", "order_line", "account")
                for c in schema.get_columns(t)
            }
            for column in [
                ("orders", "total_cents"),
                ("order_line", "unit_price_cents"),
                ("account", "balance_cents"),
            ]:
                assert types[column] == "BIGINT", column
            uniques = [u["column_names"] for u in schema.get_unique_constraints("orders")]
            assert uniques == [["customer_id", "idempotency_key"]]
            with db.engine.begin() as conn:
                conn.execute(text("UPDATE account SET balance_cents = balance_cents + 1"))
                kept = conn.execute(text("SELECT total_cents FROM orders")).scalar()
            assert kept == 1250
            db.engine.dispose()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT balance_cents FROM account")).scalar() == 2**31 + 1
        db.engine.dispose()
