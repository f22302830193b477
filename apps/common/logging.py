"""JSON-lines logging: every record carries time, level, app id, the current trace and span ids,
and the order id when one is known (`extra={"order_id": ...}` or an `order_context` block)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from opentelemetry import trace

_ORDER_ID: ContextVar[str | None] = ContextVar("order_id", default=None)


@contextmanager
def order_context(order_id: str | None) -> Iterator[None]:
    """Every log line written inside (this thread or task) carries `order_id`."""
    token = _ORDER_ID.set(order_id)
    try:
        yield
    finally:
        _ORDER_ID.reset(token)


class JsonFormatter(logging.Formatter):
    def __init__(self, app_id: str) -> None:
        super().__init__()
        self.app_id = app_id

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "app_id": self.app_id,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        ctx = trace.get_current_span().get_span_context()
        if ctx.is_valid:
            line["trace_id"] = format(ctx.trace_id, "032x")
            line["span_id"] = format(ctx.span_id, "016x")
        order_id = getattr(record, "order_id", None) or _ORDER_ID.get()
        if order_id:
            line["order_id"] = order_id
        for key in ("topic", "component", "http"):
            if hasattr(record, key):
                line[key] = getattr(record, key)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(app_id: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(app_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").setLevel("WARNING")  # apps.http logs each request
    logging.getLogger("httpx").setLevel("WARNING")  # so do the sidecars, for outgoing calls
