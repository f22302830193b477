"""Reserving, releasing and selling stock: all-or-nothing, never oversold, idempotent per order."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from apps.common.contracts import ReserveStock, StockReply
from apps.common.db import Database
from apps.inventory_service.store import Reservation, StockItem, utcnow


def reserve_stock(db: Database, cmd: ReserveStock) -> tuple[StockReply, bool]:
    """Returns the reply for this order and whether this call changed anything."""
    wanted = Counter[str]()
    for line in cmd.items:
        wanted[line.product_id] += line.quantity
    lines = sorted(wanted.items())  # fixed lock order: no deadlock between two orders
    with db.session() as s:
        existing = s.get(Reservation, cmd.order_id)
        if existing is not None:
            return _reply(existing), False
        s.add(Reservation(order_id=cmd.order_id, status="HELD", items_json=json.dumps(lines)))
        try:
            s.flush()
        except IntegrityError:  # the same command is being handled concurrently
            s.rollback()
            return _reply(_get(db, cmd.order_id)), False
        for product_id, quantity in lines:
            taken = s.execute(
                update(StockItem)
                .where(col(StockItem.product_id) == product_id)
                .where(col(StockItem.available) >= quantity)
                .values(
                    available=StockItem.available - quantity, reserved=StockItem.reserved + quantity
                )
            ).rowcount
            if taken != 1:
                s.rollback()
                reason = _shortage(s, product_id, quantity)
                s.rollback()  # end the read before _reject opens its own transaction
                break
        else:
            s.commit()
            return StockReply(order_id=cmd.order_id, reserved=True), True
    return _reject(db, cmd.order_id, lines, reason)


# Reservation rows are read FOR UPDATE: release-stock and order-cancelled for the same order may
# be handled at the same moment, and only one of them may give the stock back (PostgreSQL; SQLite
# transactions are serialized anyway).
def release_stock(db: Database, order_id: str) -> bool:
    """Give back what the order holds (reserved or already sold). A release that arrives before
    its reservation leaves a RELEASED record, so the late reservation is refused."""
    with db.session() as s:
        res = s.get(Reservation, order_id, with_for_update=True)
        if res is None:
            s.add(
                Reservation(order_id=order_id, status="RELEASED", reason="released before reserved")
            )
            try:
                s.commit()
                return True
            except IntegrityError:
                s.rollback()
                res = s.get(Reservation, order_id, with_for_update=True)
        if res is None or res.status not in ("HELD", "SOLD"):
            return False
        for product_id, quantity in res.lines:
            values = {"available": StockItem.available + quantity}
            if res.status == "HELD":
                values["reserved"] = StockItem.reserved - quantity
            s.execute(
                update(StockItem).where(col(StockItem.product_id) == product_id).values(values)
            )
        res.status, res.updated_at = "RELEASED", utcnow()
        s.add(res)
        s.commit()
        return True


def commit_sale(db: Database, order_id: str) -> bool:
    """The order is confirmed: its reserved units become sold."""
    with db.session() as s:
        res = s.get(Reservation, order_id, with_for_update=True)
        if res is None or res.status != "HELD":
            return False
        for product_id, quantity in res.lines:
            s.execute(
                update(StockItem)
                .where(col(StockItem.product_id) == product_id)
                .values(reserved=StockItem.reserved - quantity)
            )
        res.status, res.updated_at = "SOLD", utcnow()
        s.add(res)
        s.commit()
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


def get_stock(db: Database, product_id: str) -> StockItem | None:
    with db.session() as s:
        return s.get(StockItem, product_id)


def _shortage(s: Session, product_id: str, quantity: int) -> str:
    item = s.get(StockItem, product_id)
    if item is None:
        return f"unknown product {product_id}"
    return f"insufficient stock for {product_id}: {item.available} available, {quantity} wanted"


def _reject(db: Database, order_id: str, lines: list, reason: str) -> tuple[StockReply, bool]:
    with db.session() as s:
        s.add(
            Reservation(
                order_id=order_id, status="REJECTED", items_json=json.dumps(lines), reason=reason
            )
        )
        try:
            s.commit()
        except IntegrityError:
            s.rollback()
            return _reply(_get(db, order_id)), False
    return StockReply(order_id=order_id, reserved=False, reason=reason), True


def _get(db: Database, order_id: str) -> Reservation:
    with db.session() as s:
        res = s.get(Reservation, order_id, with_for_update=True)
    assert res is not None
    return res


def _reply(res: Reservation) -> StockReply:
    if res.status in ("HELD", "SOLD"):
        return StockReply(order_id=res.order_id, reserved=True)
    return StockReply(
        order_id=res.order_id,
        reserved=False,
        reason=res.reason or f"reservation {res.status.lower()}",
    )
