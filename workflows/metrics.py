"""Saga metrics, served on order-service's /metrics.

Workflow code is replayed from its history every time the saga wakes up, so the workflow counts
and times only while it is not replaying (`ctx.is_replaying`), with the workflow's own
deterministic clock (`ctx.current_utc_datetime`). Activities are not replayed: each run of a
step's activity is timed where it runs (workflows/activities.py, `order_span`).
"""

from __future__ import annotations

from dapr.ext.workflow import DaprWorkflowContext
from prometheus_client import Counter, Histogram

SAGA_BUCKETS = (0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 60, 120, 300, 600)
STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60, 600)

SAGAS_STARTED = Counter("order_saga_started_total", "Order sagas started")
SAGAS_RESUMED = Counter(
    "order_saga_resumed_total",
    "Order sagas run again by the reconciler, or to cancel a confirmed order",
)
SAGAS_COMPLETED = Counter("order_saga_completed_total", "Order sagas that confirmed their order")
SAGAS_FAILED = Counter(
    "order_saga_failed_total", "Order sagas that cancelled their order before doing anything"
)
SAGAS_COMPENSATED = Counter(
    "order_saga_compensated_total", "Order sagas that cancelled their order and undid its steps"
)
SAGA_DURATION = Histogram(
    "order_saga_duration_seconds",
    "Order saga duration, from start to its end, by outcome",
    ["outcome"],
    buckets=SAGA_BUCKETS,
)
STEP_DURATION = Histogram(
    "order_saga_step_duration_seconds",
    "Duration of each run of a saga step's activity",
    ["step"],
    buckets=STEP_BUCKETS,
)
ENDINGS = {"COMPLETED": SAGAS_COMPLETED, "FAILED": SAGAS_FAILED, "COMPENSATED": SAGAS_COMPENSATED}


class SagaClock:
    """Counts a saga's start (or resumption) when created and its end in `ended`, each once,
    not on replay."""

    def __init__(self, ctx: DaprWorkflowContext, resumed: bool = False) -> None:
        self.ctx = ctx
        self.started = ctx.current_utc_datetime
        if not ctx.is_replaying:
            (SAGAS_RESUMED if resumed else SAGAS_STARTED).inc()

    def ended(self, outcome: str | None) -> None:
        """`outcome` None: this run ended without one of its own (e.g. a finished saga that
        was scheduled again and stopped at once), so there is no end to count."""
        if self.ctx.is_replaying or outcome is None:
            return
        ENDINGS[outcome].inc()
        seconds = (self.ctx.current_utc_datetime - self.started).total_seconds()
        SAGA_DURATION.labels(outcome.lower()).observe(seconds)
