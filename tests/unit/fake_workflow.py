"""A fake workflow context that drives the saga's generator without a sidecar.

Tasks are the SDK's own `CompletableTask`s, so `when_any` is the real one. The test says what
each activity answers; timers fire at once (moving the fake clock on); the stock wait ends with
the reply, the timer or a cancel, as the test chooses.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dapr.ext.workflow._durabletask.task import CompletableTask, WhenAnyTask

from workflows.steps import CANCEL_REQUESTED, STOCK_REPLY

Answer = Any | Callable[[Any], Any]


@dataclass
class Call:
    kind: str  # "activity" or "timer"
    name: str  # activity name, or the timer's delay in seconds
    input: Any = None
    retry_policy: Any = None


class FakeWorkflowContext:
    def __init__(self, replaying: bool = False) -> None:
        self.current_utc_datetime = datetime(2026, 1, 1, tzinfo=UTC)
        self.is_replaying = replaying
        self.instance_id = "order-1"
        self.events: dict[str, CompletableTask] = {}
        self.timers: list[tuple[CompletableTask, timedelta]] = []

    def call_activity(self, name: str, *, input: Any = None, retry_policy: Any = None) -> Any:
        task: Any = CompletableTask()
        task.call = Call("activity", name, input, retry_policy)
        return task

    def create_timer(self, fire_at: timedelta) -> Any:
        task: Any = CompletableTask()
        task.call = Call("timer", str(fire_at.total_seconds()))
        self.timers.append((task, fire_at))
        return task

    def wait_for_external_event(self, name: str) -> CompletableTask:
        task = CompletableTask()
        self.events[name] = task
        return task


@dataclass
class Run:
    calls: list[Call] = field(default_factory=list)
    stock_waits: int = 0

    @property
    def activities(self) -> list[str]:
        return [c.name for c in self.calls if c.kind == "activity"]

    def inputs(self, name: str) -> list[Any]:
        return [c.input for c in self.calls if c.kind == "activity" and c.name == name]

    @property
    def timers(self) -> list[float]:
        return [float(c.name) for c in self.calls if c.kind == "timer"]


def drive(
    saga: Generator[Any, Any, Any],
    ctx: FakeWorkflowContext,
    answers: dict[str, list[Answer] | Answer],
    stock: dict | str | list[dict | str] = "reserved",
) -> Run:
    """Runs the saga to its end. `answers[name]`: a list (one answer per call, in order) or one
    answer for every call; a callable answer gets the activity's input. `stock`: the stock
    reply's data, or "reserved", "timeout" or "cancel"; a list: one of those per stock wait."""
    run, value = Run(), None
    waits = list(stock) if isinstance(stock, list) else None
    while True:
        try:
            task = saga.send(value)
        except StopIteration:
            return run
        if isinstance(task, WhenAnyTask):
            if waits is not None and not waits:
                raise AssertionError("the saga waited for stock more often than expected")
            value = _stock_wait(ctx, waits.pop(0) if waits is not None else stock)
            run.stock_waits += 1
        elif task.call.kind == "timer":
            run.calls.append(task.call)
            ctx.current_utc_datetime += next(d for t, d in ctx.timers if t is task)
            value = None
        else:
            run.calls.append(task.call)
            value = _answer(answers, task.call)


def _stock_wait(ctx: FakeWorkflowContext, stock: dict | str) -> CompletableTask:
    if stock == "timeout":
        timer, delay = ctx.timers[-1]  # the stock wait's timer
        ctx.current_utc_datetime += delay
        timer.complete(None)
        return timer
    if stock == "cancel":
        winner = ctx.events[CANCEL_REQUESTED]
        winner.complete({"orderId": "order-1"})
        return winner
    reply = {"orderId": "order-1", "reserved": True} if stock == "reserved" else stock
    winner = ctx.events[STOCK_REPLY]
    winner.complete(reply)
    return winner


def _answer(answers: dict[str, list[Answer] | Answer], call: Call) -> Any:
    if call.name not in answers:
        raise AssertionError(f"the saga called {call.name} with {call.input}: not expected")
    answer = answers[call.name]
    if isinstance(answer, list):
        if not answer:
            raise AssertionError(f"the saga called {call.name} more often than expected")
        answer = answer.pop(0)
    return answer(call.input) if callable(answer) else answer
