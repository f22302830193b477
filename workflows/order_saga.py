"""The order saga: reserve stock, take payment, confirm, notify; on failure undo, stock first.

Workflow code is replayed from history, so it only orchestrates: every side effect is an
activity (workflows/activities.py, called by name) and every wait is a durable timer, never a
sleep in an activity, so a slow participant holds no worker thread.

Faults of the infrastructure (a broker or a sidecar down for a while) make an activity raise;
the engine retries it under `TRANSIENT`. When those retries run out the workflow fails, and
order-service's reconciler runs the saga again with `resume` (apps/order_service/reconciler.py):
every step is safe to repeat, and `_resume` picks up from what the order database says.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping
from datetime import timedelta
from typing import Any, Protocol

from dapr.ext.workflow import DaprWorkflowContext, RetryPolicy, when_any

from workflows.metrics import SagaClock
from workflows.models import (
    LimitVerdict,
    PaymentResult,
    PaymentStatus,
    ProgressUpdate,
    SagaEnding,
    SagaInput,
    SagaModel,
    SagaState,
    StockOutcome,
)
from workflows.statuses import SAGA_IN_FLIGHT, SagaStatus
from workflows.steps import (
    CANCEL_REQUESTED,
    INVENTORY_RESERVED,
    LATEST_VERSION_ENV,
    NOTIFICATION_SENT,
    ORDER_SAGA,
    PAYMENT_PROCESSED,
    SAGA_VERSION,
    SAGA_VERSIONS,
    STOCK_REPLY,
    Activity,
)

Saga = Generator[Any, Any, None]
Outcome = Generator[Any, Any, str | None]  # the outcome: COMPLETED, FAILED, COMPENSATED or None
CANCELLED_BY_REQUEST = "cancelled by request"

# Bounded (about a minute of waiting), with backoff. `max_retry_interval` is set on purpose: the
# SDK may not retry without it (python-sdk #836). Never wrap a call that uses it in try/except:
# the policy is then ignored (python-sdk #797).
TRANSIENT = RetryPolicy(
    first_retry_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    max_number_of_attempts=8,
    max_retry_interval=timedelta(seconds=15),
)
# Charges and refunds during a payment outage: tried again after these pauses (durable timers).
PAYMENT_BACKOFF_SECONDS = (1, 2, 4, 8, 15)


class WorkflowRegistry(Protocol):
    """Where workflows are registered: the SDK's WorkflowRuntime, or the replay gate's."""

    def register_versioned_workflow(
        self, fn: Any, *, name: str, version_name: str | None = None, is_latest: bool
    ) -> None: ...


def register_saga(runtime: WorkflowRegistry, latest: str = SAGA_VERSION) -> None:
    """Every version of the saga as order-service runs it, and as the replay gate (tests/replay)
    replays it: one function, told its version. `latest`: what new sagas start as (and what
    replays a history without a version name)."""
    if latest not in SAGA_VERSIONS:
        raise ValueError(f"saga version {latest!r} is not one of {', '.join(SAGA_VERSIONS)}")
    for name in SAGA_VERSIONS:
        runtime.register_versioned_workflow(
            saga_version(version_number(name)),
            name=ORDER_SAGA,
            version_name=name,
            is_latest=name == latest,
        )


def latest_version(env: Mapping[str, str]) -> str:
    """The version new sagas start as: SAGA_LATEST_VERSION, else the newest. A release that
    brings a version first ships knowing it but starting the previous one, then the next
    release starts it (docs/upgrade.md); ValueError names a version that does not exist."""
    chosen = env.get(LATEST_VERSION_ENV, "").strip() or SAGA_VERSION
    if chosen not in SAGA_VERSIONS:
        raise ValueError(f"{LATEST_VERSION_ENV}={chosen!r}: use one of {', '.join(SAGA_VERSIONS)}")
    return chosen


def version_number(name: str) -> int:
    return int(name.removeprefix("v"))


def saga_version(version: int) -> Callable[[DaprWorkflowContext, dict[str, Any]], Saga]:
    def order_saga_version(ctx: DaprWorkflowContext, order: dict[str, Any]) -> Saga:
        return order_saga(ctx, order, version)

    return order_saga_version


def order_saga(ctx: DaprWorkflowContext, order: dict[str, Any], version: int | None = None) -> Saga:
    """`version`: the saga's version (SAGA_VERSIONS), the latest if None. A change to what the
    saga schedules is taken only from the version that brought it (`version >= 3: ...`)."""
    version = version or version_number(SAGA_VERSION)
    saga = SagaInput.read(order)  # validated here: every step reads it by attribute
    clock = SagaClock(ctx, resumed=saga.resume)  # counts and times it
    steps = _resume(ctx, saga, version) if saga.resume else _order_steps(ctx, saga, version)
    clock.ended((yield from steps))


def _order_steps(ctx: DaprWorkflowContext, order: SagaInput, version: int) -> Outcome:
    # A cancel request sets a flag in the order database, which every step checks; the event
    # only wakes the saga early while it waits for stock.
    cancel = ctx.wait_for_external_event(CANCEL_REQUESTED)

    # 1. Reserve stock: a Kafka command, answered by a reply event (or not, in time).
    reply = ctx.wait_for_external_event(STOCK_REPLY)
    winner = None
    if order.stock_requested and order.stock_resend_seconds is not None:  # both, or neither
        # order-service sent the command itself once it had scheduled this saga (Sagas.start):
        # one activity fewer per saga. If no reply comes soon, the command may not have gone
        # out; the activity below sends it again (a reservation is idempotent per order).
        resend = ctx.create_timer(timedelta(seconds=order.stock_resend_seconds))
        winner = yield when_any([reply, resend, cancel])
        if winner is resend:
            winner = None
    if winner is None:
        if not (yield _call(ctx, Activity.RESERVE_STOCK, order)):
            return None  # this order's saga is not in progress any more: nothing to do
        timer = ctx.create_timer(timedelta(seconds=order.stock_timeout_seconds))
        winner = yield when_any([reply, timer, cancel])
    if winner is not reply:
        # A reservation may still land later: the release leaves a mark that refuses it.
        reason = CANCELLED_BY_REQUEST if winner is cancel else "stock reservation timed out"
        return (yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason))
    stock = StockOutcome.read(reply.get_result())
    if not stock.reserved:
        return (yield from _finish(ctx, order, SagaStatus.FAILED, stock.reason or "no stock"))
    # v2. Its histories start as v2; v1's have no `dailyLimit` in their input (replayed by v2).
    if version >= 2 and order.daily_limit:
        verdict = LimitVerdict.read((yield _call(ctx, Activity.CHECK_LIMIT, order)))
        if not verdict.allowed:
            # A resumed run may follow a charge that landed unrecorded: void it to be sure.
            reason = verdict.reason or "over the daily limit"
            return (yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason, order.resume))

    # 2. Take payment: Dapr service invocation, tried again during an outage until a deadline.
    payment = yield from _take_payment(ctx, order)
    if payment.status != PaymentStatus.CHARGED:
        reason = payment.reason or "no reason given"
        if payment.status != PaymentStatus.CANCELLED:
            reason = f"payment {payment.status.lower()}: {reason}"
        # Unless declined, money may have been taken: a charge that lands after we gave up
        # (UNAVAILABLE), or one whose answer was lost before a cancel was seen (CANCELLED on a
        # repeated attempt). A refund voids it; one with nothing to refund changes nothing.
        void = payment.status != PaymentStatus.DECLINED
        return (yield from _compensate(ctx, order, [INVENTORY_RESERVED], reason, void))
    done = [INVENTORY_RESERVED, PAYMENT_PROCESSED]
    if payment.cancel_requested:
        return (yield from _compensate(ctx, order, done, CANCELLED_BY_REQUEST))

    # 3. Confirm, and 4. notify (inventory and notification-service react to the event): done by
    # the payment step itself once the charge is in, one activity fewer per saga. A history
    # written before that change has no `confirmed` in its payment result: it confirms here.
    confirmed = payment.confirmed
    if confirmed is None:
        confirmed = bool((yield _call(ctx, Activity.CONFIRM_ORDER, order)))
    if not confirmed:
        return (yield from _compensate(ctx, order, done, CANCELLED_BY_REQUEST))
    return SagaStatus.COMPLETED


def _resume(ctx: DaprWorkflowContext, order: SagaInput, version: int) -> Outcome:
    """A saga run again (its first run failed, never ran, or a confirmed order is being
    cancelled): it goes on from what the order database says."""
    saga = SagaState.read((yield _call(ctx, Activity.LOAD_SAGA, order)))
    if saga.status == SagaStatus.STARTED and not saga.cancel_requested:
        return (yield from _order_steps(ctx, order, version))
    if saga.status in SAGA_IN_FLIGHT:
        # Whatever was done is undone; releasing or refunding what never happened is harmless
        # (each leaves a mark that refuses a late reservation or charge).
        reason = saga.failure_reason or CANCELLED_BY_REQUEST
        done = [
            INVENTORY_RESERVED,
            *([PAYMENT_PROCESSED] if PAYMENT_PROCESSED in saga.completed_steps else []),
        ]
        return (yield from _compensate(ctx, order, done, reason, void_payment=True))
    if saga.status == SagaStatus.COMPLETED and NOTIFICATION_SENT not in saga.completed_steps:
        yield _call(ctx, Activity.CONFIRM_ORDER, order)  # publishes order-confirmed again
    return None


def _take_payment(ctx: DaprWorkflowContext, order: SagaInput) -> Generator[Any, Any, PaymentResult]:
    """CHARGED (with `cancelRequested`, and `confirmed` once the order is CONFIRMED), DECLINED,
    CANCELLED (a cancel came first) or, once the deadline has passed with payment-service
    unreachable, UNAVAILABLE."""
    deadline = ctx.current_utc_datetime + timedelta(seconds=order.payment_deadline_seconds)
    attempt = 0
    while True:
        result = PaymentResult.read((yield _call(ctx, Activity.TAKE_PAYMENT, order)))
        if result.status != PaymentStatus.UNAVAILABLE or ctx.current_utc_datetime >= deadline:
            return result
        yield ctx.create_timer(_backoff(attempt))
        attempt += 1


def _refund(ctx: DaprWorkflowContext, order: SagaInput) -> Generator[Any, Any, None]:
    """Refunds (or voids, if the charge never landed) until payment-service acknowledges it:
    money taken is always given back, however long the outage."""
    attempt = 0
    while True:
        result = PaymentResult.read((yield _call(ctx, Activity.REFUND_PAYMENT, order)))
        if result.status != PaymentStatus.UNAVAILABLE:
            return
        yield ctx.create_timer(_backoff(attempt))
        attempt += 1


def _compensate(
    ctx: DaprWorkflowContext,
    order: SagaInput,
    done: list[str],
    reason: str,
    void_payment: bool = False,
) -> Outcome:
    """Stock first (it is what other orders wait for), then the money, then the end."""
    record = ProgressUpdate(order=order, saga_status=SagaStatus.COMPENSATING, failure_reason=reason)
    yield _call(ctx, Activity.RECORD_PROGRESS, record)
    if INVENTORY_RESERVED in done:
        yield _call(ctx, Activity.RELEASE_STOCK, order)
    if void_payment or PAYMENT_PROCESSED in done:
        yield from _refund(ctx, order)
    return (yield from _finish(ctx, order, SagaStatus.COMPENSATED, reason, list(reversed(done))))


def _finish(
    ctx: DaprWorkflowContext,
    order: SagaInput,
    saga_status: SagaStatus,
    reason: str,
    compensated: list[str] | None = None,
) -> Outcome:
    ending = SagaEnding(
        order=order, saga_status=saga_status, reason=reason, compensated=compensated or []
    )
    yield _call(ctx, Activity.FINISH_CANCELLED, ending)
    return saga_status


def _call(ctx: DaprWorkflowContext, activity: str, data: SagaModel) -> Any:
    return ctx.call_activity(activity, input=data.wire(), retry_policy=TRANSIENT)


def _backoff(attempt: int) -> timedelta:
    return timedelta(
        seconds=PAYMENT_BACKOFF_SECONDS[min(attempt, len(PAYMENT_BACKOFF_SECONDS) - 1)]
    )
