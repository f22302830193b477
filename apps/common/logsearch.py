"""Log lines about one order or one trace, from every log file of a run, in time order: what
`make logs ID=` prints (deploy/logs.py) and what the console shows (the gateway's
`GET /api/v1/orders/{orderId}/logs`).

A line is selected when it mentions the id. For an order id, the order's trace ids are found
first (app log lines carry `order_id` and `trace_id`), so lines that carry only the trace id
(sidecars, the gateway's request line) are selected too. App and sidecar logs are JSON lines
with `time`; Kafka, Zipkin and PostgreSQL logs are plain text with a timestamp at the start of
most lines (a line without one keeps its predecessor's). Apps run by the dapr CLI log to
`<appDirPath>/.dapr/logs/` with its `== APP - <app-id> == ` prefix before each line (and colour
codes): both are taken off.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?\s?(Z|UTC|[+-]\d\d:?\d\d)?"
)
EPOCH = datetime.min.replace(tzinfo=UTC)
STAMP_STARTS = set("{[0123456789")
# What the dapr CLI puts before each line of an app's output in its log file.
CLI_APP_PREFIX = re.compile(r"^== APP - [^ ]+ == ")
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
LogDirs = Path | list[Path]


@dataclass(frozen=True)
class Line:
    time: datetime
    source: str
    text: str


def parse_time(text: str) -> datetime | None:
    """A JSON line's `time`, or the timestamp near the start of a plain line: UTC when it says
    so, else the machine's local time."""
    if text.startswith("{"):
        with contextlib.suppress(ValueError, AttributeError):
            text = str(json.loads(text).get("time", ""))
    match = TIMESTAMP.search(text, 0, 80)
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    moment = datetime.fromisoformat(f"{day}T{clock}.{(fraction or '0')[:6].ljust(6, '0')}")
    if zone in ("Z", "UTC"):
        return moment.replace(tzinfo=UTC)
    if zone:
        return datetime.fromisoformat(f"{moment.isoformat()}{zone}").astimezone(UTC)
    return moment.astimezone(UTC)


def plain(raw: str) -> str:
    """A log line without its newline, colour codes and the CLI's app prefix."""
    return CLI_APP_PREFIX.sub("", ANSI_CODE.sub("", raw.rstrip("\n")))


def mentions(log_dirs: LogDirs, needles: set[str]) -> Iterator[Line]:
    """Lines of every log file that contain one of `needles`, with their time."""
    dirs = [log_dirs] if isinstance(log_dirs, Path) else log_dirs
    for path in sorted(p for d in dirs for p in d.glob("*.log")):
        stamped = ""  # the last line that may start with a timestamp
        with path.open(errors="replace") as lines:
            for raw in lines:
                text = plain(raw)
                if any(needle in text for needle in needles):
                    moment = parse_time(text) or parse_time(stamped) or EPOCH
                    yield Line(moment, path.name, text)
                if text[:1] in STAMP_STARTS:
                    stamped = text


def trace_ids_in_logs(order_id: str, lines: Iterable[Line]) -> set[str]:
    """Trace ids of the app log lines about the order (they carry both ids)."""
    found = set()
    for line in lines:
        if line.text.startswith("{"):
            try:
                record = json.loads(line.text)
            except ValueError:
                continue
            if record.get("order_id") == order_id and record.get("trace_id"):
                found.add(record["trace_id"])
    return found


def needles(wanted: str, log_dir: LogDirs) -> set[str]:
    """What to look for: the id, and for an order id the trace ids its app lines carry."""
    found = {wanted}
    if not TRACE_ID.match(wanted):  # an order id: bring in its trace(s)
        found |= trace_ids_in_logs(wanted, mentions(log_dir, {wanted}))
    return found


def in_time_order(lines: Iterable[Line]) -> list[Line]:
    return sorted(lines, key=lambda line: line.time)  # stable: file order within a moment


def merged(wanted: str, log_dir: LogDirs, trace_ids: Iterable[str] = ()) -> list[Line]:
    """Every line about `wanted` (an order id or a trace id), in time order. `trace_ids`: the
    order's trace ids the caller knows besides (a log may have no line with both ids)."""
    return in_time_order(mentions(log_dir, needles(wanted, log_dir) | set(trace_ids)))
