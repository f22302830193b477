"""A workflow instance's history, read from where Dapr keeps it: the workflow actor's state in
the actor state store (components/<profile>/statestore.yaml), one row per event under
`<app>||<actor type>||<instance id>||history-NNNNNN`, each a protobuf HistoryEvent (base64 in
SQLite's text column, raw bytes in PostgreSQL's). Read-only; the stack keeps running."""

from __future__ import annotations

import base64
import sqlite3

from dapr.ext.workflow._durabletask.internal import protos as pb

from deploy.stack.paths import RUN_DIR
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST
from deploy.stack.secrets import postgres_password

SQLITE_FILE = RUN_DIR / "data" / "dapr-state.db"  # components/sqlite/statestore.yaml
TABLE = "state"  # the default table of Dapr's state.sqlite and state.postgresql (v2)
Rows = list[tuple[str, bytes]]


class HistoryNotFound(LookupError):
    pass


def read_history(instance_id: str, profile: str) -> list[pb.HistoryEvent]:
    """The instance's history events in order; HistoryNotFound if it has none (purged, or
    never started), ValueError if rows are missing in between."""
    pattern = f"%||{instance_id}||history-%"
    rows = _postgres_rows(pattern) if profile == "postgres" else _sqlite_rows(pattern)
    numbered = sorted(
        (int(key.rsplit("-", 1)[1]), value)
        for key, value in rows
        if key.split("||")[-2] == instance_id  # LIKE's `_` matches any character
    )
    if not numbered:
        raise HistoryNotFound(f"no history for workflow instance {instance_id}")
    if [n for n, _ in numbered] != list(range(len(numbered))):
        raise ValueError(f"history of {instance_id} has gaps: {[n for n, _ in numbered]}")
    return [pb.HistoryEvent.FromString(value) for _, value in numbered]


def _sqlite_rows(pattern: str) -> Rows:
    with sqlite3.connect(f"file:{SQLITE_FILE}?mode=ro", uri=True, timeout=5) as db:
        found = db.execute(
            f"SELECT key, value, is_binary FROM {TABLE} WHERE key LIKE ?", (pattern,)
        ).fetchall()
    return [
        (key, base64.b64decode(value) if binary else value.encode()) for key, value, binary in found
    ]


def _postgres_rows(pattern: str) -> Rows:
    import psycopg  # the PostgreSQL profile only

    dsn = (
        f"host={HOST} port={POSTGRES_PORT} user=postgres password={postgres_password()} "
        "dbname=dapr_state connect_timeout=5"
    )
    with psycopg.connect(dsn) as db:
        found = db.execute(f"SELECT key, value FROM {TABLE} WHERE key LIKE %s", (pattern,))
        return [(key, bytes(value)) for key, value in found.fetchall()]
