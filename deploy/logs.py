"""`python -m deploy.logs <order-id | trace-id>` (or `make logs ID=...`): every log line of the
current run that concerns one order or one trace, from all apps, sidecars and servers, merged
in time order, each prefixed with the file it comes from.

A line is selected when it mentions the id. For an order id, the order's trace ids are found
first (app log lines carry `order_id` and `trace_id`; the gateway's order view has `traceId`),
so lines that carry only the trace id (sidecars, the gateway's request line) are selected too.
App and sidecar logs are JSON lines with `time`; Kafka, Zipkin and PostgreSQL logs are plain
text with a timestamp at the start of most lines (a line without one keeps its predecessor's).

Apps started by the real dapr CLI (`make infra`, then `dapr run -f dapr.yaml`) log to
`<appDirPath>/.dapr/logs/` instead (`<app-id>_app_<time>.log`, `<app-id>_daprd_<time>.log`): those
files are read too, the CLI's `== APP - <app-id> == ` prefix (and colour codes) taken off.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role
from deploy.stack.paths import LOG_DIR, ROOT

TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:[.,](\d{1,9}))?\s?(Z|UTC|[+-]\d\d:?\d\d)?"
)
EPOCH = datetime.min.replace(tzinfo=UTC)
STAMP_STARTS = set("{[0123456789")
# What the dapr CLI puts before each line of an app's output in its log file.
CLI_APP_PREFIX = re.compile(r"^== APP - [^ ]+ == ")
ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")


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


def cli_log_dirs(runfile: Path = ROOT / "dapr.yaml") -> list[Path]:
    """Where the dapr CLI writes the logs of the apps of a run file: <appDirPath>/.dapr/logs."""
    try:
        apps = yaml.safe_load(runfile.read_text()).get("apps", [])
    except (OSError, yaml.YAMLError, AttributeError):
        return []
    dirs = {
        (runfile.parent / app.get("appDirPath", ".") / ".dapr" / "logs").resolve() for app in apps
    }
    return sorted(dirs)


def plain(raw: str) -> str:
    """A log line without its newline, colour codes and the CLI's app prefix."""
    return CLI_APP_PREFIX.sub("", ANSI_CODE.sub("", raw.rstrip("\n")))


def mentions(log_dirs: Path | list[Path], needles: set[str]) -> Iterator[Line]:
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


def _admin_bearer() -> dict[str, str]:
    """A short-lived admin token signed with the development key, as `make token` signs one."""
    try:
        return {"Authorization": f"Bearer {issue('make-logs', Role.ADMIN, timedelta(minutes=1))}"}
    except (OSError, ValueError):  # no development key: the gateway will refuse, say nothing
        return {}


def trace_id_from_gateway(order_id: str) -> str | None:
    port = os.environ.get("GATEWAY_PORT", "8080")
    try:
        url = f"http://127.0.0.1:{port}/api/v1/orders/{order_id}"
        resp = httpx.get(url, headers=_admin_bearer(), timeout=3)
        return resp.json().get("traceId") if resp.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


def merged(wanted: str, log_dir: Path | list[Path]) -> list[Line]:
    needles = {wanted}
    if not TRACE_ID.match(wanted):  # an order id: bring in its trace(s)
        needles |= trace_ids_in_logs(wanted, mentions(log_dir, {wanted}))
        if len(needles) == 1 and (trace_id := trace_id_from_gateway(wanted)):
            needles.add(trace_id)
    lines = mentions(log_dir, needles)
    return sorted(lines, key=lambda line: line.time)  # stable: file order within a moment


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.logs", description=__doc__.split("\n")[0]
    )
    parser.add_argument("id", help="an order id or a trace id (32 hex digits)")
    parser.add_argument(
        "--dir",
        type=Path,
        action="append",
        help=f"a log directory (default: {LOG_DIR} and the dapr CLI's <appDirPath>/.dapr/logs)",
    )
    args = parser.parse_args(argv)
    wanted = args.id.strip()
    if TRACE_ID.match(wanted.lower()):
        wanted = wanted.lower()
    if len(wanted) < 8:
        parser.error("give a whole order id or trace id")
    dirs = [d for d in (args.dir or [LOG_DIR, *cli_log_dirs()]) if d.is_dir()]
    if not dirs:
        print(f"no log directory {LOG_DIR}: has the stack run?", file=sys.stderr)
        return 1
    chosen = merged(wanted, dirs)
    if not chosen:
        print(f"no line in {', '.join(map(str, dirs))} mentions {wanted}", file=sys.stderr)
        return 1
    width = max(len(line.source) for line in chosen)
    for line in chosen:
        print(f"{line.source:<{width}}  {line.text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
