"""`python -m deploy.logs <order-id | trace-id>` (or `make logs ID=...`): every log line of the
current run that concerns one order or one trace, from all apps, sidecars and servers, merged
in time order, each prefixed with the file it comes from.

How lines are found and ordered: apps/common/logsearch.py (the console's log view uses it
too). When no app line carries both the order id and a trace id, the order's `traceId` is asked
of the gateway. Apps started by the real dapr CLI (`make infra`, then `dapr run -f dapr.yaml`)
log to `<appDirPath>/.dapr/logs/` (`<app-id>_app_<time>.log`, `<app-id>_daprd_<time>.log`):
those files are read too.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import yaml

from apps.common.logsearch import TRACE_ID, Line, LogDirs, in_time_order, mentions, needles
from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role
from deploy.stack.paths import LOG_DIR, ROOT


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


def merged(wanted: str, log_dir: LogDirs) -> list[Line]:
    found = needles(wanted, log_dir)
    # No app line has both the order id and a trace id: ask the gateway for the order's.
    lone_order_id = len(found) == 1 and not TRACE_ID.match(wanted)
    if lone_order_id and (trace_id := trace_id_from_gateway(wanted)):
        found.add(trace_id)
    return in_time_order(mentions(log_dir, found))


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
