"""Which saga version each order's workflow ran, and on which path, read from its recorded
history in the workflow state store (tests/replay/store.py), not assumed.

A history names its version on its `workflowStarted` events (v1 or v2 here); v2 checks the
customer's daily limit (activity `check_limit`) before it takes payment, v1 never does. A saga
started as v1 before the deploy whose history goes on after it was replayed, and finished, by
the new release: it must still be on v1's path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dapr.ext.workflow._durabletask.internal import protos as pb

from tests.replay.corpus import version_of
from tests.replay.store import HistoryNotFound, read_history
from workflows.steps import UNVERSIONED, Activity

OLD, NEW = "v1", "v2"


@dataclass(frozen=True)
class Switch:
    """Wall-clock seconds: the first order-service instance began its restart onto the new
    version, the last one was ready on it."""

    began: float
    ended: float


@dataclass
class Saga:
    order_id: str
    version: str
    started: float  # its first turn (the first workflowStarted), wall-clock seconds
    last_event: float
    activities: list[str]
    resumed: bool  # a run the reconciler started again
    stalled: bool
    ended: str | None  # the runtime status it completed with, None if still running


@dataclass
class VersionCheck:
    sagas: int = 0
    by_version: dict[str, int] = field(default_factory=dict)
    old_finished_by_new: int = 0  # v1 sagas with events after the switch: replayed by v2's code
    started_in_between: dict[str, int] = field(default_factory=dict)  # during the rollout
    stalled: int = 0
    failed: int = 0  # runs that ended FAILED (a replay that broke, among others)
    resumed: int = 0
    unfinished: int = 0
    missing: list[str] = field(default_factory=list)  # orders without a history
    breaks: list[str] = field(default_factory=list)


def read_saga(order_id: str, profile: str) -> Saga:
    events = read_history(order_id, profile)
    times = [e.timestamp.ToDatetime().timestamp() for e in events]
    started = next(e for e in events if e.HasField("executionStarted"))
    # The version is chosen by the first turn (scheduling only records the input): a saga the
    # old release scheduled whose first turn ran on the new one starts, rightly, as v2.
    first_turn = next(e for e in events if e.HasField("workflowStarted"))
    completed = [e for e in events if e.HasField("executionCompleted")]
    return Saga(
        order_id=order_id,
        version=version_of(events, UNVERSIONED),
        started=first_turn.timestamp.ToDatetime().timestamp(),
        last_event=max(times),
        activities=[e.taskScheduled.name for e in events if e.HasField("taskScheduled")],
        resumed='"resume": true' in started.executionStarted.input.value,
        stalled=any(e.HasField("executionStalled") for e in events),
        ended=(
            pb.OrchestrationStatus.Name(completed[-1].executionCompleted.workflowStatus)
            if completed
            else None
        ),
    )


def check_versions(order_ids: list[str], profile: str, switch: Switch) -> VersionCheck:
    result = VersionCheck()
    for order_id in order_ids:
        try:
            saga = read_saga(order_id, profile)
        except (HistoryNotFound, ValueError) as exc:
            result.missing.append(f"{order_id}: {exc}")
            continue
        result.sagas += 1
        _count(result.by_version, saga.version)
        result.stalled += saga.stalled
        result.failed += saga.ended == "ORCHESTRATION_STATUS_FAILED"
        result.unfinished += saga.ended is None
        result.breaks += path_breaks(saga, switch)
        if saga.resumed:
            result.resumed += 1
            continue  # a resumed run starts as whatever is latest when the reconciler runs it
        if saga.version == OLD and saga.last_event > switch.ended:
            result.old_finished_by_new += 1
        if switch.began <= saga.started <= switch.ended:
            _count(result.started_in_between, saga.version)
    return result


def path_breaks(saga: Saga, switch: Switch) -> list[str]:
    where = f"order {saga.order_id} (saga {saga.version})"
    breaks = []
    if saga.stalled:
        breaks.append(f"{where}: STALLED")
    if saga.ended == "ORCHESTRATION_STATUS_FAILED":
        breaks.append(f"{where}: workflow FAILED")
    checked = Activity.CHECK_LIMIT in saga.activities
    if saga.version == OLD and checked:
        breaks.append(f"{where}: v1 saga took v2's path (check_limit)")
    if saga.version == NEW and Activity.TAKE_PAYMENT in saga.activities:
        payment = saga.activities.index(Activity.TAKE_PAYMENT)
        if Activity.CHECK_LIMIT not in saga.activities[:payment]:
            breaks.append(f"{where}: v2 saga paid without its limit check")
    if not saga.resumed:
        if saga.started < switch.began and saga.version != OLD:
            breaks.append(f"{where}: started before the deploy, not as v1")
        if saga.started > switch.ended and saga.version != NEW:
            breaks.append(f"{where}: started after the deploy, not as v2")
    return breaks


def _count(counts: dict[str, int], key: str) -> None:
    counts[key] = counts.get(key, 0) + 1
