"""The workflow engine's state store while a run goes: how many rows it holds and how many bytes
they take, read-only, every few seconds. With a retention policy (WORKFLOW_RETENTION) both should
level off under a steady load, since finished instances are purged as fast as new ones finish."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from deploy.stack.paths import ROOT
from deploy.stack.postgres import POSTGRES_PORT
from deploy.stack.process import HOST
from deploy.stack.secrets import postgres_password

SQLITE_FILE = ROOT / ".run" / "data" / "dapr-state.db"  # components/sqlite/statestore.yaml
TABLE = "state"  # the default table of Dapr's state.sqlite and state.postgresql (v2)


@dataclass(frozen=True)
class StateSample:
    time: float  # epoch seconds
    rows: int
    bytes: int  # on disk: the database file and its WAL (SQLite), the table (PostgreSQL)


def start_note(samples: list[StateSample]) -> str:
    """What the store held when a run began. Figures compare only between runs that start
    alike: leftovers of `make test` in the same clone made one code measure 107 ms CPU per saga
    at 15 orders/s, and 89 from an empty store."""
    if not samples:
        return "The workflow state store could not be read at the start."
    first = samples[0]
    leftovers = ": left by earlier runs in this `.run/`" if first.rows else ""
    return (
        f"The workflow state store held {first.rows} rows ({first.bytes / 2**20:.1f} MiB) "
        f"at the start{leftovers}."
    )


def sqlite_size(path: Path = SQLITE_FILE) -> tuple[int, int]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
        (rows,) = db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    wal = path.with_name(path.name + "-wal")
    return rows, path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def postgres_size() -> tuple[int, int]:
    import psycopg  # the PostgreSQL profile only

    dsn = (
        f"host={HOST} port={POSTGRES_PORT} user=postgres password={postgres_password()} "
        "dbname=dapr_state connect_timeout=5"
    )
    with psycopg.connect(dsn) as db:
        row = db.execute(f"SELECT count(*), pg_total_relation_size('{TABLE}') FROM {TABLE}")
        rows, size = row.fetchone()
    return int(rows), int(size)


class StateSampler:
    """Samples the state store every `interval` seconds on a thread; a failed read is skipped
    (counted in `misses`), never fatal to the run."""

    def __init__(self, profile: str, interval: float = 5.0) -> None:
        self.read = postgres_size if profile == "postgres" else sqlite_size
        self.interval = interval
        self.samples: list[StateSample] = []
        self.misses = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="state-sampler", daemon=True)

    def sample_now(self) -> StateSample | None:
        try:
            rows, size = self.read()
        except Exception:  # noqa: BLE001 - a locked or restarting store: skip this sample
            self.misses += 1
            return None
        sample = StateSample(time.time(), rows, size)
        self.samples.append(sample)
        return sample

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample_now()

    def __enter__(self) -> StateSampler:
        self.sample_now()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample_now()


def purged(base: int, peak: int, rows: int) -> bool:
    """Back to where the run found it, give or take a tenth of what it added. Rows left by
    earlier runs (`base`) are not the run's to purge, but may be purged meanwhile."""
    return rows - base <= max(0, peak - base) / 10


def wait_for_purge(sampler: StateSampler, timeout: float) -> StateSample | None:
    """Once the load is over: samples until the finished instances are purged (see `purged`), or
    `timeout`; the last sample either way."""
    base, peak = sampler.samples[0].rows, max(s.rows for s in sampler.samples)
    deadline = time.monotonic() + timeout
    last = sampler.sample_now()
    while time.monotonic() < deadline and (last is None or not purged(base, peak, last.rows)):
        time.sleep(sampler.interval)
        last = sampler.sample_now() or last
    return last
