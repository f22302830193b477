"""A saga step's span: a span of the order's trace (the order's `traceparent` travels in the
workflow input), every log line carrying the order id, and the step's duration in the step
metrics. The activities run each in one, and so does order-service when it sends a saga's first
command itself (apps/order_service/sagas.py)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace

from apps.common.logging import order_context
from apps.common.telemetry import continue_trace
from workflows.metrics import STEP_DURATION

log = logging.getLogger("workflows.activities")  # the name the step lines have always had
tracer = trace.get_tracer("workflows.activities")


@contextmanager
def order_span(name: str, order_id: str, traceparent: str | None) -> Iterator[None]:
    start = time.perf_counter()
    with (
        continue_trace(traceparent),
        tracer.start_as_current_span(name, attributes={"order.id": order_id}),
        order_context(order_id),
    ):
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            STEP_DURATION.labels(name).observe(elapsed)
            log.info("saga step %s took %.0fms", name, elapsed * 1000)
