"""The saga's timeline (order_saga_event) and the console's order queries (filters, counts,
stuck orders) on a real SQLite database."""

from __future__ import annotations

from datetime import timedelta

from apps.common.contracts import PlaceOrder
from apps.order_service import commands, queries, saga_record, views
from workflows.steps import (
    INVENTORY_RESERVED,
    NOTIFICATION_SENT,
    ORDER_CONFIRMED,
    PAYMENT_PROCESSED,
)

ORDER = {
    "customerId": "alice",
    "items": [{"productId": "book", "quantity": 2, "unitPrice": "2.50"}],
}


def place(db, customer: str = "alice") -> str:
    order = PlaceOrder.model_validate({**ORDER, "customerId": customer})
    row, _new = commands.place_order(db, order, None, None)
    saga_record.mark_workflow_started(db, row.order_id)
    return row.order_id


def names(db, order_id: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["name"]) for e in saga_record.saga_timeline(db, order_id)]


def test_a_confirmed_saga_has_each_step_once_with_its_time(sqlite_db):
    order_id = place(sqlite_db)
    for _ in range(2):  # an activity that runs again records nothing new
        saga_record.record_progress(sqlite_db, order_id, completed=INVENTORY_RESERVED)
        saga_record.record_progress(
            sqlite_db, order_id, order_status="PAID", completed=PAYMENT_PROCESSED
        )
        assert saga_record.complete_saga(sqlite_db, order_id)
        saga_record.record_progress(sqlite_db, order_id, completed=NOTIFICATION_SENT)
    timeline = saga_record.saga_timeline(sqlite_db, order_id)
    assert [(e["kind"], e["name"]) for e in timeline] == [
        ("step", INVENTORY_RESERVED),
        ("step", PAYMENT_PROCESSED),
        ("step", ORDER_CONFIRMED),
        ("step", NOTIFICATION_SENT),
    ]
    assert all(e["at"].endswith("Z") and e["tookMs"] >= 0 for e in timeline)
    view = views.order_view(sqlite_db, views.get_order(sqlite_db, order_id), timeline=True)
    assert view["saga"]["timeline"] == timeline and view["saga"]["startedAt"].endswith("Z")
    assert (
        "timeline" not in views.order_view(sqlite_db, views.get_order(sqlite_db, order_id))["saga"]
    )


def test_compensations_are_timed_when_done_and_once(sqlite_db):
    order_id = place(sqlite_db)
    saga_record.record_progress(sqlite_db, order_id, completed=INVENTORY_RESERVED)
    saga_record.record_progress(
        sqlite_db, order_id, saga_status="COMPENSATING", failure_reason="payment declined: funds"
    )
    saga_record.record_compensation(sqlite_db, order_id, INVENTORY_RESERVED)  # the release activity
    saga_record.record_compensation(sqlite_db, order_id, INVENTORY_RESERVED)  # run again
    saga_record.record_progress(
        sqlite_db,
        order_id,
        order_status="CANCELLED",
        saga_status="COMPENSATED",
        compensated=[INVENTORY_RESERVED],
        failure_reason="payment declined: funds",
    )
    assert names(sqlite_db, order_id) == [
        ("step", INVENTORY_RESERVED),
        ("saga", "COMPENSATING"),
        ("compensation", INVENTORY_RESERVED),
        ("saga", "COMPENSATED"),
    ]
    assert saga_record.saga_timeline(sqlite_db, order_id)[1]["detail"] == "payment declined: funds"
    saga = views.order_view(sqlite_db, views.get_order(sqlite_db, order_id))["saga"]
    assert saga["compensatedSteps"] == [INVENTORY_RESERVED]


def test_an_ending_names_compensations_not_timed_before(sqlite_db):
    """A saga from before the timeline (or whose release was recorded by nothing else)."""
    order_id = place(sqlite_db)
    saga_record.record_progress(
        sqlite_db,
        order_id,
        order_status="CANCELLED",
        saga_status="COMPENSATED",
        compensated=[PAYMENT_PROCESSED, INVENTORY_RESERVED],
        failure_reason="cancelled by request",
    )
    assert names(sqlite_db, order_id) == [
        ("compensation", PAYMENT_PROCESSED),
        ("compensation", INVENTORY_RESERVED),
        ("saga", "COMPENSATED"),
    ]


def test_listing_filters_by_status_and_saga_status_and_counts(sqlite_db):
    confirmed = place(sqlite_db)
    saga_record.complete_saga(sqlite_db, confirmed)
    pending = place(sqlite_db, customer="bob")
    everyone, _ = views.list_orders(sqlite_db, None, 10, None)
    assert [o.order_id for o in everyone] == [pending, confirmed]  # newest first
    only, _ = views.list_orders(sqlite_db, None, 10, None, status="CONFIRMED")
    assert [o.order_id for o in only] == [confirmed]
    started, _ = views.list_orders(sqlite_db, "bob", 10, None, saga_status="STARTED")
    assert [o.order_id for o in started] == [pending]
    assert views.order_counts(sqlite_db, None) == {
        "total": 2,
        "byStatus": {"CONFIRMED": 1, "PENDING": 1},
        "bySagaStatus": {"COMPLETED": 1, "STARTED": 1},
    }
    assert views.order_counts(sqlite_db, "bob")["byStatus"] == {"PENDING": 1}


def test_stuck_orders_are_those_not_at_an_end_past_the_threshold(sqlite_db):
    waiting = place(sqlite_db)
    done = place(sqlite_db)
    saga_record.complete_saga(sqlite_db, done)
    saga_record.record_progress(sqlite_db, done, completed=NOTIFICATION_SENT)
    assert queries.stuck_orders(sqlite_db, timedelta(hours=1), 10) == []
    stuck = queries.stuck_orders(sqlite_db, timedelta(0), 10)
    assert [o.order_id for o in stuck] == [waiting]
    assert queries.is_unsettled(sqlite_db, stuck[0])
    assert not queries.is_unsettled(sqlite_db, views.get_order(sqlite_db, done))


def test_a_charge_recorded_confirms_the_order_in_one_step_and_again_when_repeated(sqlite_db):
    order_id = place(sqlite_db)
    saga_record.record_progress(sqlite_db, order_id, completed=INVENTORY_RESERVED)
    for _ in range(2):  # the activity runs again: the same answer, nothing recorded twice
        assert saga_record.record_paid(sqlite_db, order_id) == (False, True)
    view = views.order_view_by_id(sqlite_db, order_id, timeline=True)
    assert view["status"] == "CONFIRMED" and view["saga"]["status"] == "COMPLETED"
    assert names(sqlite_db, order_id) == [
        ("step", INVENTORY_RESERVED),
        ("step", PAYMENT_PROCESSED),
        ("step", ORDER_CONFIRMED),
    ]


def test_a_charge_recorded_after_a_cancel_request_leaves_the_order_paid(sqlite_db):
    order_id = place(sqlite_db)
    assert commands.begin_cancel(sqlite_db, order_id) == "in-flight"
    assert saga_record.record_paid(sqlite_db, order_id) == (True, False)
    view = views.order_view_by_id(sqlite_db, order_id)
    assert view["status"] == "PAID" and view["saga"]["status"] == "STARTED"
    assert view["saga"]["completedSteps"] == [PAYMENT_PROCESSED]
