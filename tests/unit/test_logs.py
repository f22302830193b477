"""deploy/logs.py: an order's lines from every log file, found by order id or its trace id,
merged in time order whatever each file's time format."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from deploy.logs import cli_log_dirs, merged

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


def test_the_dapr_clis_log_files_are_read_without_its_app_prefix(tmp_path, monkeypatch, utc):
    """`dapr run -f` writes <appDirPath>/.dapr/logs/<app-id>_app_<time>.log with each app line
    behind "== APP - <app-id> == " (coloured on a terminal), and the sidecar's JSON as it is."""
    monkeypatch.setenv("GATEWAY_PORT", "1")
    (tmp_path / "dapr.yaml").write_text("version: 1\napps:\n  - appID: a\n    appDirPath: .\n")
    logs = tmp_path / ".dapr" / "logs"
    logs.mkdir(parents=True)
    placed = app_line("2026-01-01T10:00:02.000+00:00", "placed", order_id=ORDER, trace_id=TRACE)
    (logs / "order-service_app_20260101100000.log").write_text(
        f"\x1b[94m== APP - order-service == {placed}\x1b[0m\n"
    )
    sidecar = json.dumps({"time": "2026-01-01T10:00:01Z", "msg": f"span {TRACE}"})
    (logs / "order-service_daprd_20260101100000.log").write_text(sidecar + "\n")
    (logs / "inventory-service_daprd_20260101100000.log").write_text(
        json.dumps({"time": "2026-01-01T10:00:03Z", "msg": f"span {OTHER}"}) + "\n"
    )
    assert cli_log_dirs(tmp_path / "dapr.yaml") == [logs.resolve()]
    lines = merged(ORDER, cli_log_dirs(tmp_path / "dapr.yaml"))
    assert [(line.source, line.text) for line in lines] == [
        ("order-service_daprd_20260101100000.log", sidecar),
        ("order-service_app_20260101100000.log", placed),
    ]
