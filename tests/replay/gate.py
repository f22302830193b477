"""The replay gate: a recorded saga history replayed against the current workflow code by the
SDK's own orchestration executor (durabletask's `_OrchestrationExecutor`, what the worker runs
for every work item), without a sidecar.

A history is a list of turns, each opened by a `workflowStarted` event: the events the engine
delivered (`executionStarted`, `taskCompleted`, `timerFired`, `eventRaised`, ...) and the events
it wrote from the actions the code answered (`taskScheduled`, `timerCreated`,
`executionCompleted`). An instance in flight when new code is deployed is picked up at some turn
k >= 1: the worker replays turns 0..k-1 (the executor raises NonDeterminismError where the code
no longer schedules what the history says) and runs turn k's events as new. The gate does that
for every k >= 1 and compares the actions the current code answers with what the recorded code
did. Turn 0 is never run by new code for an instance that already exists, so its own actions
are not compared (a new version may start differently); it is replayed in every later turn. A
history is replayed by the version it recorded (`workflowStarted.version.name`), as the worker
does: a version no longer registered is a divergence (Dapr stalls such a workflow).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dapr.ext.workflow import DaprWorkflowContext
from dapr.ext.workflow._durabletask import worker
from dapr.ext.workflow._durabletask.internal import protos as pb

# Events the engine writes from the code's actions; every other event is delivered to the code.
WRITTEN = {"taskScheduled", "timerCreated", "executionCompleted", "childWorkflowInstanceCreated"}
log = logging.getLogger(__name__)


class ReplayRegistry:
    """The SDK worker's registry, filled the way `WorkflowRuntime.register_workflow` and
    `register_versioned_workflow` fill it (the code gets a `DaprWorkflowContext` around the
    executor's context)."""

    def __init__(self) -> None:
        self.registry = worker._Registry()

    def register_workflow(self, fn: Callable, *, name: str | None = None) -> None:
        self.registry.add_named_orchestrator(name or fn.__name__, _in_dapr_context(fn))

    def register_versioned_workflow(
        self, fn: Callable, *, name: str, version_name: str | None = None, is_latest: bool
    ) -> None:
        self.registry.add_named_orchestrator(
            name, _in_dapr_context(fn), version_name=version_name, is_latest=is_latest
        )


def _in_dapr_context(fn: Callable) -> Callable:
    def wrapper(ctx: Any, inp: Any = None) -> Any:
        return fn(DaprWorkflowContext(ctx), inp)

    return wrapper


@dataclass(frozen=True)
class Divergence:
    turn: int  # index of the turn (0 = the first)
    event: int  # index in the history of the first event that differs (or of the turn)
    recorded: str
    current: str

    def __str__(self) -> str:
        return (
            f"turn {self.turn} (event #{self.event}): recorded {self.recorded}; "
            f"current code {self.current}"
        )


@dataclass(frozen=True)
class Replay:
    turns: int
    compared: int  # actions compared with the recorded ones
    divergence: Divergence | None


def kind(event: pb.HistoryEvent) -> str:
    return event.WhichOneof("eventType") or "unknown"


def turns_of(history: Sequence[pb.HistoryEvent]) -> list[list[int]]:
    """Indexes of each turn's events; a turn starts at each `workflowStarted`."""
    turns: list[list[int]] = []
    for index, event in enumerate(history):
        if kind(event) == "workflowStarted" or not turns:
            turns.append([])
        turns[-1].append(index)
    return turns


def replay(history: Sequence[pb.HistoryEvent], registry: ReplayRegistry) -> Replay:
    turns = turns_of(history)
    compared = 0
    for number, indexes in enumerate(turns):
        if number == 0:
            continue
        past = [history[i] for t in turns[:number] for i in t]
        delivered = [history[i] for i in indexes if kind(history[i]) not in WRITTEN]
        written = [i for i in indexes if kind(history[i]) in WRITTEN]
        executor = worker._OrchestrationExecutor(registry.registry, log)
        result = executor.execute("replay", past, delivered)
        divergence = (
            _replay_failure(number, history, result.actions)
            or _patch_mismatch(number, indexes[0], past, result.patches or [])
            or _compare(number, indexes[0], history, written, result.actions)
        )
        if divergence:
            return Replay(len(turns), compared, divergence)
        compared += len(written)
    return Replay(len(turns), compared, None)


def _replay_failure(
    turn: int, history: Sequence[pb.HistoryEvent], actions: Sequence[pb.WorkflowAction]
) -> Divergence | None:
    """The executor failed while replaying turns 0..turn-1: the recorded step it names."""
    for action in actions:
        failure = action.completeWorkflow.failureDetails
        if failure.errorType != "NonDeterminismError":
            continue
        found = re.search(r"(?:ID=|sequence number )(\d+)", failure.errorMessage)
        step = int(found.group(1)) if found else None
        index = next(
            (i for i, e in enumerate(history) if kind(e) in WRITTEN and e.eventId == step), 0
        )
        current = f"does not replay it: {failure.errorType}: {failure.errorMessage}"
        return Divergence(turn, index, describe_event(history[index]), current)
    return None


def _patch_mismatch(
    turn: int, first: int, past: Sequence[pb.HistoryEvent], reported: list[str]
) -> Divergence | None:
    """Dapr's own check (`hasPatchMismatch`): the patches recorded so far must begin the list
    the code reports, else the workflow is STALLED (PATCH_MISMATCH)."""
    recorded = [
        p for e in past if kind(e) == "workflowStarted" for p in e.workflowStarted.version.patches
    ]
    if reported[: len(recorded)] == recorded:
        return None
    return Divergence(
        turn, first, f"patches {recorded}", f"reports patches {reported}: Dapr stalls it"
    )


def _compare(
    turn: int,
    first: int,
    history: Sequence[pb.HistoryEvent],
    written: list[int],
    actions: Sequence[pb.WorkflowAction],
) -> Divergence | None:
    current = sorted(actions, key=lambda a: a.id)
    for position, index in enumerate(written):
        recorded = describe_event(history[index])
        if position >= len(current):
            return Divergence(turn, index, recorded, "does nothing more")
        answered = describe_action(current[position])
        if answered != recorded:
            return Divergence(turn, index, recorded, answered)
    if len(current) > len(written):
        extra = describe_action(current[len(written)])
        return Divergence(turn, first, "nothing more in this turn", extra)
    return None


def describe_event(event: pb.HistoryEvent) -> str:
    name = kind(event)
    if name == "taskScheduled":
        return f"activity {event.taskScheduled.name} (id {event.eventId})"
    if name == "timerCreated":
        return f"timer (id {event.eventId})"
    if name == "childWorkflowInstanceCreated":
        return f"child workflow {event.childWorkflowInstanceCreated.name} (id {event.eventId})"
    done = event.executionCompleted
    return _ending(done.workflowStatus, done.result.value, done.failureDetails)


def describe_action(action: pb.WorkflowAction) -> str:
    name = action.WhichOneof("workflowActionType")
    if name == "scheduleTask":
        return f"activity {action.scheduleTask.name} (id {action.id})"
    if name == "createTimer":
        return f"timer (id {action.id})"
    if name == "createChildWorkflow":
        return f"child workflow {action.createChildWorkflow.name} (id {action.id})"
    if name == "completeWorkflow":
        done = action.completeWorkflow
        return _ending(done.workflowStatus, done.result.value, done.failureDetails)
    return f"{name} (id {action.id})"


def _ending(status: int, result: str, failure: pb.TaskFailureDetails) -> str:
    status_name = pb.OrchestrationStatus.Name(status).removeprefix("ORCHESTRATION_STATUS_")
    if failure.errorType:
        return f"end {status_name}: {failure.errorType}: {failure.errorMessage}"
    return f"end {status_name} with {result or 'no result'}"
