"""The soak's pure parts: does a series level off, and is a run's state store counted purged?"""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from loadtests.bench.__main__ import purge_problems
from loadtests.bench.run import BenchRun
from loadtests.bench.soak_report import rows_per_retained_saga, seconds
from loadtests.bench.statestore import StateSample, sqlite_size
from loadtests.bench.stats import late_growth


def test_a_series_that_levelled_off_has_no_late_growth() -> None:
    # Grows for the first fifth, then stays at 100.
    points = [(float(t), min(100.0, t * 5.0)) for t in range(101)]
    assert late_growth(points, 0, 100) == pytest.approx(0.0)


def test_a_linearly_growing_series_still_grows_in_its_second_half() -> None:
    points = [(float(t), float(t)) for t in range(101)]
    # Mean of 90..100 (95) against the mean of 45..55 (50).
    assert late_growth(points, 0, 100) == pytest.approx(0.9)


def test_late_growth_without_points_in_a_window_is_not_a_number() -> None:
    assert math.isnan(late_growth([(0.0, 1.0)], 0, 100))


def _run(retention: str | None, rows: list[int], purged_to: int | None) -> BenchRun:
    bench = BenchRun("sqlite", "subset", retention=retention, purged_to=purged_to)
    bench.state = [StateSample(float(i), r, 0) for i, r in enumerate(rows)]
    return bench


def test_a_state_store_purged_to_a_tenth_of_what_the_run_added_passes() -> None:
    assert purge_problems(_run("10s", [0, 400, 900, 300], 12)) == []
    # Rows an earlier run left (500) are not the run's to purge.
    assert purge_problems(_run("10s", [500, 900, 1400], 540)) == []
    # ... and may be purged meanwhile (instances that ended under an earlier retention).
    assert purge_problems(_run("10s", [131_411, 131_411, 120_000], 108_688)) == []


def test_a_state_store_left_full_fails_naming_its_rows_and_the_retention() -> None:
    (problem,) = purge_problems(_run("10s", [0, 400, 900], 850))
    assert "850 rows left, 0 before the run, peak 900" in problem and "retention 10s" in problem
    assert purge_problems(_run("10s", [500, 900, 1400], 600))


def test_a_state_store_never_read_fails() -> None:
    assert purge_problems(_run("10s", [], None))


def test_a_stack_with_its_own_retention_is_not_judged() -> None:
    assert purge_problems(_run(None, [0, 900], 900)) == []


def test_sqlite_size_counts_the_rows_of_the_state_table(tmp_path: Path) -> None:
    path = tmp_path / "dapr-state.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT)")
        db.executemany("INSERT INTO state VALUES (?, ?)", [(str(i), "x") for i in range(7)])
    rows, size = sqlite_size(path)
    assert rows == 7 and size >= path.stat().st_size > 0


def test_retention_durations_read_as_seconds() -> None:
    assert [seconds(d) for d in ("2m", "10s", "1h30m", "1.5s")] == [120, 10, 5400, 1.5]


def test_rows_per_retained_saga_stay_flat_when_the_purge_keeps_up_with_a_rising_rate() -> None:
    # Sagas end at 10/s for 200 s, then 20/s; each keeps 13 rows for the 2 minutes retained.
    ends = [t / 10 for t in range(2000)] + [200 + t / 20 for t in range(4000)]
    bench = BenchRun("sqlite", "soak", retention="2m")
    bench.confirmations = {"soak": [(t, 100.0, 0.0) for t in ends]}
    kept = lambda at: sum(1 for t in ends if at - 120 < t <= at)  # noqa: E731
    bench.state = [StateSample(float(at), 13 * kept(at), 0) for at in range(150, 400, 10)]
    per_saga = rows_per_retained_saga(bench)
    assert [s.rows for s in bench.state][-1] > 1.5 * bench.state[0].rows  # the count grew
    assert {round(v, 6) for _t, v in per_saga} == {13.0}  # per saga it did not
