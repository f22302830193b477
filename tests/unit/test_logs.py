"""deploy/logs.py: an order's lines from every log file, found by order id or its trace id,
merged in time order whatever each file's time format."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from deploy.logs import merged

ORDER, TRACE, OTHER = "order-1234-abcd", "a" * 32, "b" * 32


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Plain lines without a zone are local time: make local time UTC for the test."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def app_line(at: str, msg: str, **ids: str) -> str:
    return json.dumps({"time": at, "level": "info", "app_id": "x", "msg": msg, **ids})


def test_order_lines_and_its_trace_lines_merged_in_time_order(tmp_path, monkeypatch, utc):
    monkeypatch.setenv("GATEWAY_PORT", "1")  # no gateway to ask: the logs must suffice
    (tmp_path / "order-service.log").write_text(
        "\n".join(
            [
                app_line("2026-01-01T10:00:01.000+00:00", "placed", order_id=ORDER, trace_id=TRACE),
                app_line("2026-01-01T10:00:05.000+00:00", "unrelated", trace_id=OTHER),
                "Traceback (most recent call last):",
            ]
        )
    )
    (tmp_path / "gateway.log").write_text(
        app_line("2026-01-01T10:00:00.500+00:00", "POST /api/v1/orders", trace_id=TRACE)
    )
    daprd = {"msg": f"{ORDER}: completed", "time": "2026-01-01T10:00:03.123456789Z"}
    (tmp_path / "order-service.daprd.log").write_text(json.dumps(daprd) + "\n")
    (tmp_path / "kafka.log").write_text(
        f"[2026-01-01 10:00:02,000] INFO about {ORDER}\n[2026-01-01 10:00:02,500] INFO other\n"
    )

    lines = merged(ORDER, tmp_path)

    assert [line.source for line in lines] == [
        "gateway.log",  # only its trace id: found through the order-service line
        "order-service.log",
        "kafka.log",  # plain text, local time
        "order-service.daprd.log",  # its time is at the end of the line
    ]
    assert "placed" in lines[1].text and "about" in lines[2].text
    assert [line.source for line in merged(TRACE, tmp_path)] == [
        "gateway.log",
        "order-service.log",
    ]
