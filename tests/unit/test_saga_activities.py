"""Each saga activity on its own, every branch: the real activities class over a real SQLite
order database (SagaRecordsInDb) and the real Dapr client, whose HTTP transport stands in for the
sidecar (httpx.MockTransport): what is published and invoked is recorded, and each invocation
answers what the test says (a status, a refusal, or no connection at all)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from apps.common.contracts import PlaceOrder
from apps.common.dapr import DaprClient
from apps.order_service import commands, saga_record, views
from apps.order_service.saga_record import SagaRecordsInDb
from apps.order_service.watch import OrderWatch
from workflows.activities import SagaActivities
from workflows.models import ProgressUpdate, SagaEnding, SagaInput
from workflows.statuses import SagaStatus
from workflows.steps import INVENTORY_RESERVED, NOTIFICATION_SENT, PAYMENT_PROCESSED

Answer = Callable[[httpx.Request], httpx.Response]


class Sidecar:
    """The sidecar's HTTP API as the Dapr client meets it: publishes recorded and accepted,
    invocations answered by `answer` (an exception in it is a connection that fails)."""

    def __init__(self) -> None:
        self.published: list[tuple[str, dict[str, Any]]] = []
        self.invoked: list[str] = []
        self.answer: Answer = lambda _req: httpx.Response(503)
        self.refuse_publish = False

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/v1.0/publish/"):
            if self.refuse_publish:
                return httpx.Response(500, text="broker down")
            self.published.append((path.rsplit("/", 1)[1], json.loads(request.content)))
            return httpx.Response(204)
        self.invoked.append(path.split("/method/", 1)[1])
        return self.answer(request)

    def topics(self) -> list[str]:
        return [topic for topic, _ in self.published]


@pytest.fixture
def sidecar() -> Sidecar:
    return Sidecar()


@pytest.fixture
def activities(sqlite_db, sidecar) -> SagaActivities:
    client = DaprClient()
    client.http = httpx.Client(
        base_url="http://sidecar", transport=httpx.MockTransport(sidecar.handle)
    )
    return SagaActivities(SagaRecordsInDb(sqlite_db, OrderWatch()), client)


def placed(db, total: str = "5.00", customer: str = "alice") -> dict[str, Any]:
    """An order placed and its saga started: the workflow input the activities get."""
    request = {
        "customerId": customer,
        "items": [{"productId": "book", "quantity": 1, "unitPrice": total}],
    }
    row, _ = commands.place_order(db, PlaceOrder.model_validate(request), None, None)
    saga_record.mark_workflow_started(db, row.order_id)
    payload = {
        **saga_record.saga_input(db, row),
        "stockTimeoutSeconds": 30,
        "paymentDeadlineSeconds": 20,
    }
    return SagaInput.read(payload).wire()


def payment(status: str, reason: str | None = None) -> Answer:
    return lambda req: httpx.Response(
        200,
        json={"orderId": json.loads(req.content)["orderId"], "status": status, "reason": reason},
    )


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


def status_of(db, order: dict[str, Any]) -> tuple[str, str]:
    view = views.order_view_by_id(db, order["orderId"])
    assert view is not None
    return view["status"], view["saga"]["status"]


def test_load_saga_reads_the_record(sqlite_db, activities):
    order = placed(sqlite_db)
    state = activities.load_saga(None, order)
    assert (state["status"], state["completedSteps"], state["cancelRequested"]) == (
        "STARTED",
        [],
        False,
    )


def test_reserve_stock_sends_the_command_while_the_saga_is_in_progress(
    sqlite_db, activities, sidecar
):
    order = placed(sqlite_db)
    assert activities.reserve_stock(None, order) is True
    ((topic, command),) = sidecar.published
    assert topic == "reserve-stock"
    assert command == {"orderId": order["orderId"], "items": [{"productId": "book", "quantity": 1}]}


def test_reserve_stock_of_a_saga_no_longer_in_progress_sends_nothing(
    sqlite_db, activities, sidecar
):
    order = placed(sqlite_db)
    saga_record.record_progress(sqlite_db, order["orderId"], saga_status="COMPENSATING")
    assert activities.reserve_stock(None, order) is False
    assert sidecar.published == []


def test_release_stock_sends_the_command_and_times_the_compensation(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    activities.release_stock(None, order)
    assert sidecar.topics() == ["release-stock"]
    timeline = saga_record.saga_timeline(sqlite_db, order["orderId"])
    assert [(e["kind"], e["name"]) for e in timeline] == [("compensation", INVENTORY_RESERVED)]


def test_a_charge_confirms_the_order_and_announces_it(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    sidecar.answer = payment("CHARGED")
    result = activities.take_payment(None, order)
    assert (result["status"], result["cancelRequested"], result["confirmed"]) == (
        "CHARGED",
        False,
        True,
    )
    assert sidecar.invoked == ["payments/charge"]
    assert sidecar.topics() == ["order-confirmed"]
    assert status_of(sqlite_db, order) == ("CONFIRMED", "COMPLETED")
    state = saga_record.saga_state(sqlite_db, order["orderId"])
    assert state["completedSteps"][-1] == NOTIFICATION_SENT


def test_a_cancel_that_lands_during_the_charge_leaves_the_order_paid_unconfirmed(
    sqlite_db, activities, sidecar
):
    order = placed(sqlite_db)

    def charged_then_cancelled(request: httpx.Request) -> httpx.Response:
        assert (
            commands.begin_cancel(sqlite_db, order["orderId"]) == commands.CancelDecision.IN_FLIGHT
        )
        return payment("CHARGED")(request)

    sidecar.answer = charged_then_cancelled
    result = activities.take_payment(None, order)
    assert (result["status"], result["cancelRequested"]) == ("CHARGED", True)
    assert "confirmed" not in result  # the saga compensates: nothing to confirm
    assert sidecar.published == []  # no order-confirmed
    assert status_of(sqlite_db, order) == ("PAID", "STARTED")


def test_a_cancel_before_the_charge_charges_nothing(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    commands.begin_cancel(sqlite_db, order["orderId"])
    result = activities.take_payment(None, order)
    assert result == {"status": "CANCELLED", "reason": "cancelled by request"}
    assert sidecar.invoked == []


def test_a_declined_charge_is_passed_on(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    sidecar.answer = payment("DECLINED", "insufficient funds")
    result = activities.take_payment(None, order)
    assert (result["status"], result["reason"]) == ("DECLINED", "insufficient funds")
    assert sidecar.published == []
    assert status_of(sqlite_db, order) == ("PAYMENT_PENDING", "STARTED")


def test_a_charge_refused_with_a_4xx_counts_as_declined(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    sidecar.answer = lambda _req: httpx.Response(422, json={"title": "Invalid request"})
    result = activities.take_payment(None, order)
    assert result == {"status": "DECLINED", "reason": "charge refused (422)"}


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        (lambda _req: httpx.Response(503), "payment service answered 503"),
        (unreachable, "payment service unreachable"),
    ],
)
def test_payment_service_away_is_unavailable_not_an_error(
    sqlite_db, activities, sidecar, answer, reason
):
    order = placed(sqlite_db)
    sidecar.answer = answer
    assert activities.take_payment(None, order) == {"status": "UNAVAILABLE", "reason": reason}
    assert activities.refund_payment(None, order) == {"status": "UNAVAILABLE", "reason": reason}


def test_a_refund_times_the_compensation_and_a_refused_one_is_tried_again(
    sqlite_db, activities, sidecar
):
    order = placed(sqlite_db)
    sidecar.answer = lambda _req: httpx.Response(409)
    assert activities.refund_payment(None, order)["status"] == "UNAVAILABLE"  # never DECLINED
    sidecar.answer = payment("REFUNDED")
    assert activities.refund_payment(None, order)["status"] == "REFUNDED"
    timeline = saga_record.saga_timeline(sqlite_db, order["orderId"])
    assert [(e["kind"], e["name"]) for e in timeline] == [("compensation", PAYMENT_PROCESSED)]


def test_confirm_order_confirms_unless_a_cancel_came_first(sqlite_db, activities, sidecar):
    order, cancelled = placed(sqlite_db), placed(sqlite_db)
    commands.begin_cancel(sqlite_db, cancelled["orderId"])
    assert activities.confirm_order(None, cancelled) is False
    assert sidecar.published == []
    assert activities.confirm_order(None, order) is True
    assert sidecar.topics() == ["order-confirmed"]
    assert status_of(sqlite_db, order) == ("CONFIRMED", "COMPLETED")


def test_finish_cancelled_announces_then_records_the_end(sqlite_db, activities, sidecar):
    order = placed(sqlite_db)
    ending = SagaEnding(
        order=SagaInput.read(order),
        saga_status=SagaStatus.COMPENSATED,
        reason="payment declined: insufficient funds",
        compensated=[INVENTORY_RESERVED],
    )
    activities.finish_cancelled(None, ending.wire())
    ((topic, event),) = sidecar.published
    assert (topic, event["reason"]) == ("order-cancelled", "payment declined: insufficient funds")
    assert status_of(sqlite_db, order) == ("CANCELLED", "COMPENSATED")
    state = saga_record.saga_state(sqlite_db, order["orderId"])
    assert state["failureReason"] == "payment declined: insufficient funds"


def test_finish_cancelled_records_nothing_when_the_event_cannot_go_out(
    sqlite_db, activities, sidecar
):
    order = placed(sqlite_db)
    sidecar.refuse_publish = True
    ending = SagaEnding(
        order=SagaInput.read(order), saga_status=SagaStatus.FAILED, reason="no stock"
    )
    with pytest.raises(Exception, match="publish order-cancelled"):
        activities.finish_cancelled(None, ending.wire())
    assert status_of(sqlite_db, order) == ("PENDING", "STARTED")  # still the reconciler's


def test_check_limit_counts_the_customers_other_orders(sqlite_db, activities):
    earlier = placed(sqlite_db, total="30.00")
    order = {**placed(sqlite_db, total="25.00"), "dailyLimit": "50.00"}
    verdict = activities.check_limit(None, order)
    assert verdict["allowed"] is False and "30.00 spent" in verdict["reason"]
    commands.begin_cancel(sqlite_db, earlier["orderId"])
    saga_record.record_progress(sqlite_db, earlier["orderId"], order_status="CANCELLED")
    assert activities.check_limit(None, order) == {"allowed": True, "reason": None}
    assert Decimal(order["dailyLimit"]) == Decimal("50")


def test_record_progress_writes_the_step_and_tells_of_a_cancel(sqlite_db, activities):
    order = placed(sqlite_db)
    update = ProgressUpdate(
        order=SagaInput.read(order), saga_status=SagaStatus.COMPENSATING, failure_reason="x"
    )
    assert activities.record_progress(None, update.wire()) is False
    assert status_of(sqlite_db, order) == ("PENDING", "COMPENSATING")
    other = placed(sqlite_db)
    commands.begin_cancel(sqlite_db, other["orderId"])
    update = ProgressUpdate(order=SagaInput.read(other), completed=INVENTORY_RESERVED)
    assert activities.record_progress(None, update.wire()) is True


def test_an_input_that_is_not_a_saga_input_is_refused_before_anything_happens(activities, sidecar):
    with pytest.raises(ValidationError):
        activities.reserve_stock(None, {"orderId": "o-1"})
    with pytest.raises(ValidationError):
        activities.record_progress(None, {"saga_status": "COMPENSATING"})
    assert sidecar.published == [] and sidecar.invoked == []


def test_order_service_registers_the_saga_and_its_activities_in_any_runtime(sqlite_db):
    # The SDK marks what it registers; two runtimes in one process (tests, a restart of the
    # worker) must each take every activity.
    from apps.order_service.main import workflow_runtime

    for _ in range(2):
        workflow_runtime(sqlite_db, DaprClient(), OrderWatch())
