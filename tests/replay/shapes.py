"""What a recorded history must show to be filed under a saga path (tests/replay/scenarios.py),
and the ways to look into one while its saga runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from tests.replay.corpus import activities_of, outcome_of
from tests.replay.store import HistoryNotFound, read_history
from workflows.steps import Activity as A

Provoke = Callable[[httpx.Client, str, str], str]  # (api, unique, profile) -> order id


@dataclass(frozen=True)
class Scenario:
    path: str
    provoke: Provoke
    activities: tuple[str, ...]  # a subsequence of the history's activities
    ending: str  # CONFIRMED, or the saga status the order-cancelled step recorded
    resumed: bool = False  # the recorded run is a resumed one (its input says `resume`)
    since_version: int = 1  # the first saga version that has this path
    reason: str | None = None  # in the order-cancelled step's input, if it ends cancelled
    charged_then_cancelled: bool = False  # a charge answered CHARGED with cancelRequested


def shape_problem(scenario: Scenario, events: list) -> str | None:
    """Why the history is not the scenario's path, or None."""
    done, outcome = activities_of(events), outcome_of(events)
    wanted = iter(done)
    if not all(step in wanted for step in scenario.activities):
        return f"activities {done}, wanted {list(scenario.activities)} among them"
    if outcome != "COMPLETED":
        return f"workflow ended {outcome}"
    finish = inputs_of(events, A.FINISH_CANCELLED)
    ending = finish[-1]["saga_status"] if finish else "CONFIRMED"
    if ending != scenario.ending:
        return f"saga ended {ending}, wanted {scenario.ending}"
    if scenario.resumed != bool(saga_input(events).get("resume")):
        return f"input's resume is not {scenario.resumed}"
    if scenario.reason and not any(scenario.reason in (f.get("reason") or "") for f in finish):
        return f"order-cancelled step's input {finish}, wanted reason {scenario.reason!r}"
    charges = [json.loads(r) for r in results_of(events, A.TAKE_PAYMENT)]
    late = any(c.get("status") == "CHARGED" and c.get("cancelRequested") for c in charges)
    if scenario.charged_then_cancelled and not late:
        return f"charges {charges}: none CHARGED with cancelRequested"
    return None


def saga_input(events: list) -> dict:
    started = next(e.executionStarted for e in events if e.HasField("executionStarted"))
    return json.loads(started.input.value or "{}")


def inputs_of(events: list, activity: str) -> list[dict]:
    return [
        json.loads(e.taskScheduled.input.value or "null")
        for e in events
        if e.HasField("taskScheduled") and e.taskScheduled.name == activity
    ]


def until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f}s for {what}")
        time.sleep(0.3)


def history_shows(order_id: str, profile: str, test: Callable[[list], bool]) -> Callable[[], bool]:
    def check() -> bool:
        try:
            return test(read_history(order_id, profile))
        except HistoryNotFound:
            return False

    return check


def results_of(events: list, activity: str) -> list[str]:
    """The raw results of an activity's runs, in order."""
    ids = {
        e.eventId
        for e in events
        if e.HasField("taskScheduled") and e.taskScheduled.name == activity
    }
    return [
        e.taskCompleted.result.value
        for e in events
        if e.HasField("taskCompleted") and e.taskCompleted.taskScheduledId in ids
    ]
