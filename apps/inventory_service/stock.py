"""Reserving, releasing and selling stock: all-or-nothing, never oversold, idempotent per order.

The per-saga paths run Core statements, built once, on one connection in one transaction
(Database.write): no ORM unit of work. Stock is taken by conditional UPDATEs (`available >=
quantity`), one product at a time in a fixed order, so no two orders deadlock and none oversells.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from apps.common.contracts import ReserveStock, StockReply
from apps.common.db import AnyRow, Database, insert_absent
from apps.inventory_service.store import (
    RESERVATION,
    STOCK,
    StockItem,
    parse_lines,
    utcnow,
)

_by_product = STOCK.c.product_id == bindparam("product_id_")
_by_order = RESERVATION.c.order_id == bindparam("order_id_")
_quantity: BindParameter[int] = bindparam("quantity")

TAKE = (
    update(STOCK)
    .where(_by_product, STOCK.c.available >= _quantity)
    .values(available=STOCK.c.available - _quantity, reserved=STOCK.c.reserved + _quantity)
)
UNRESERVE = update(STOCK).where(_by_product).values(reserved=STOCK.c.reserved - _quantity)
RETURN_HELD = (
    update(STOCK)
    .where(_by_product)
    .values(available=STOCK.c.available + _quantity, reserved=STOCK.c.reserved - _quantity)
)
RETURN_SOLD = update(STOCK).where(_by_product).values(available=STOCK.c.available + _quantity)
LEVEL = select(STOCK.c.product_id, STOCK.c.available, STOCK.c.reserved).where(_by_product)
# FOR UPDATE (PostgreSQL; SQLite ignores it, its writers are serialized anyway): release-stock and
# order-cancelled for the same order may be handled at the same moment, and only one of them may
# give the stock back.
LOCKED = select(RESERVATION.c.status, RESERVATION.c.items_json).where(_by_order).with_for_update()
OUTCOME = select(RESERVATION.c.status, RESERVATION.c.reason).where(_by_order)
# A conditional UPDATE waits for the row lock and re-checks the status: one sale per order.
SELL = (
    update(RESERVATION)
    .where(_by_order, RESERVATION.c.status == "HELD")
    .values(status="SOLD", updated_at=bindparam("now"))
    .returning(RESERVATION.c.items_json)
)
MARK_RELEASED = (
    update(RESERVATION).where(_by_order).values(status="RELEASED", updated_at=bindparam("now"))
)


class _Shortage(Exception):
    """Ends (and rolls back) a reservation that cannot be met; the text is the reason."""


def reserve_stock(db: Database, cmd: ReserveStock) -> tuple[StockReply, bool]:
    """Returns the reply for this order and whether this call changed anything."""
    wanted = Counter[str]()
    for line in cmd.items:
        wanted[line.product_id] += line.quantity
    lines = sorted(wanted.items())  # fixed lock order: no deadlock between two orders
    items_json = json.dumps(lines)
    try:
        with db.write() as conn:
            held = _record(cmd.order_id, "HELD", items_json)
            if not insert_absent(conn, RESERVATION, held):  # a duplicate (or a release came first)
                return _reply(conn, cmd.order_id), False
            for product_id, quantity in lines:
                taken = conn.execute(TAKE, {"product_id_": product_id, "quantity": quantity})
                if taken.rowcount != 1:
                    raise _Shortage(_shortage(conn, product_id, quantity))
    except _Shortage as shortage:
        return _reject(db, cmd.order_id, items_json, str(shortage))
    return StockReply(order_id=cmd.order_id, reserved=True), True


def release_stock(db: Database, order_id: str) -> bool:
    """Give back what the order holds (reserved or already sold). A release that arrives before
    its reservation leaves a RELEASED record, so the late reservation is refused."""
    with db.write() as conn:
        held = conn.execute(LOCKED, {"order_id_": order_id}).first()
        if held is None:
            mark = _record(order_id, "RELEASED", "[]", reason="released before reserved")
            if insert_absent(conn, RESERVATION, mark):
                return True
            # A reservation was committed meanwhile (PostgreSQL): lock and release that.
            held = conn.execute(LOCKED, {"order_id_": order_id}).one()
        if held.status not in ("HELD", "SOLD"):
            return False
        give_back = RETURN_HELD if held.status == "HELD" else RETURN_SOLD
        for product_id, quantity in parse_lines(held.items_json):
            conn.execute(give_back, {"product_id_": product_id, "quantity": quantity})
        conn.execute(MARK_RELEASED, {"order_id_": order_id, "now": utcnow()})
        return True


def commit_sale(db: Database, order_id: str) -> bool:
    """The order is confirmed: its reserved units become sold."""
    with db.write() as conn:
        sold = conn.execute(SELL, {"order_id_": order_id, "now": utcnow()}).first()
        if sold is None:  # not held (a duplicate, or released)
            return False
        for product_id, quantity in parse_lines(sold.items_json):
            conn.execute(UNRESERVE, {"product_id_": product_id, "quantity": quantity})
        return True


def set_available(db: Database, product_id: str, available: int) -> StockItem:
    with db.session() as s:
        item = s.get(StockItem, product_id)
        if item is None:
            item = StockItem(product_id=product_id)
        item.available = available
        s.add(item)
        try:
            s.commit()
        except IntegrityError:  # created concurrently: set it on the row that won
            s.rollback()
            item = s.get(StockItem, product_id)
            assert item is not None
            item.available = available
            s.add(item)
            s.commit()
        return item


def get_stock(db: Database, product_id: str) -> AnyRow | None:
    """The product's level (product_id, available, reserved), or None."""
    with db.read() as conn:
        return conn.execute(LEVEL, {"product_id_": product_id}).first()


def _record(
    order_id: str, status: str, items_json: str, reason: str | None = None
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "status": status,
        "items_json": items_json,
        "reason": reason,
        "updated_at": utcnow(),
    }


def _shortage(conn: Connection, product_id: str, quantity: int) -> str:
    item = conn.execute(LEVEL, {"product_id_": product_id}).first()
    if item is None:
        return f"unknown product {product_id}"
    return f"insufficient stock for {product_id}: {item.available} available, {quantity} wanted"


def _reject(db: Database, order_id: str, items_json: str, reason: str) -> tuple[StockReply, bool]:
    with db.write() as conn:
        if not insert_absent(conn, RESERVATION, _record(order_id, "REJECTED", items_json, reason)):
            return _reply(conn, order_id), False  # the same command was handled concurrently
    return StockReply(order_id=order_id, reserved=False, reason=reason), True


def _reply(conn: Connection, order_id: str) -> StockReply:
    res = conn.execute(OUTCOME, {"order_id_": order_id}).one()
    if res.status in ("HELD", "SOLD"):
        return StockReply(order_id=order_id, reserved=True)
    return StockReply(
        order_id=order_id, reserved=False, reason=res.reason or f"reservation {res.status.lower()}"
    )
