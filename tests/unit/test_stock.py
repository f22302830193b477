"""Inventory rules on a real SQLite database."""

from concurrent.futures import ThreadPoolExecutor

from apps.common.contracts import ReserveStock
from apps.inventory_service import stock


def reserve(db, order_id: str, *lines: tuple[str, int]):
    cmd = ReserveStock.model_validate(
        {"orderId": order_id, "items": [{"productId": p, "quantity": q} for p, q in lines]}
    )
    return stock.reserve_stock(db, cmd)


def level(db, product: str) -> tuple[int, int]:
    item = stock.get_stock(db, product)
    return item.available, item.reserved


def test_reservation_is_all_or_nothing(sqlite_db):
    stock.set_available(sqlite_db, "a", 5)
    stock.set_available(sqlite_db, "b", 1)
    reply, changed = reserve(sqlite_db, "o1", ("a", 2), ("b", 2))
    assert not reply.reserved and changed and "insufficient stock for b" in reply.reason
    assert level(sqlite_db, "a") == (5, 0) and level(sqlite_db, "b") == (1, 0)


def test_duplicate_command_reserves_once_and_answers_the_same(sqlite_db):
    stock.set_available(sqlite_db, "a", 5)
    first, changed = reserve(sqlite_db, "o1", ("a", 2))
    again, changed_again = reserve(sqlite_db, "o1", ("a", 2))
    assert first.reserved and again.reserved and changed and not changed_again
    assert level(sqlite_db, "a") == (3, 2)


def test_release_before_reservation_refuses_the_late_reservation(sqlite_db):
    stock.set_available(sqlite_db, "a", 5)
    assert stock.release_stock(sqlite_db, "o1")
    reply, _ = reserve(sqlite_db, "o1", ("a", 2))
    assert not reply.reserved
    assert level(sqlite_db, "a") == (5, 0)


def test_sale_then_cancel_returns_sold_units(sqlite_db):
    stock.set_available(sqlite_db, "a", 5)
    reserve(sqlite_db, "o1", ("a", 2))
    assert stock.commit_sale(sqlite_db, "o1") and not stock.commit_sale(sqlite_db, "o1")
    assert level(sqlite_db, "a") == (3, 0)
    assert stock.release_stock(sqlite_db, "o1") and not stock.release_stock(sqlite_db, "o1")
    assert level(sqlite_db, "a") == (5, 0)


def test_repeated_product_lines_are_summed(sqlite_db):
    stock.set_available(sqlite_db, "a", 3)
    reply, _ = reserve(sqlite_db, "o1", ("a", 2), ("a", 2))
    assert not reply.reserved
    assert level(sqlite_db, "a") == (3, 0)


def test_concurrent_reservations_never_oversell(sqlite_db):
    stock.set_available(sqlite_db, "a", 7)
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda i: reserve(sqlite_db, f"o{i}", ("a", 1))[0], range(30)))
    assert sum(r.reserved for r in replies) == 7
    assert level(sqlite_db, "a") == (0, 7)
