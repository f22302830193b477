"""What the report says about a scenario or a baseline run, computed from its samples."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from loadtests.baseline.driver import WorkflowRun
from loadtests.bench.k6run import K6Result
from loadtests.bench.sampler import Sample
from loadtests.bench.stats import cpu_by_process, percentile


@dataclass
class RunSummary:
    """One scenario on the stack, or one baseline run, over its time window."""

    name: str
    description: str
    started: float
    ended: float
    finished: int  # sagas / workflows that reached an end state in the window
    confirmed: int
    latencies_ms: list[float]  # POST (or schedule) -> CONFIRMED (or COMPLETED)
    last_completion: float | None
    cpu_seconds: dict[str, float]  # by process, in the window
    problems: list[str] = field(default_factory=list)  # errors, unfinished orders, ...
    thresholds_held: bool | None = None  # k6's verdict; None for the baseline
    extra: dict[str, str] = field(default_factory=dict)  # scenario-specific figures

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    @property
    def sagas_per_second(self) -> float:
        if not self.finished or self.last_completion is None:
            return 0.0
        return self.finished / max(1e-9, self.last_completion - self.started)

    @property
    def cpu_ms_per_saga(self) -> float:
        total = sum(self.cpu_seconds.values())
        return total * 1000 / self.finished if self.finished else float("nan")


def scenario_summary(
    result: K6Result, description: str, samples: Iterable[Sample], stack: Sequence[str]
) -> RunSummary:
    watched = [s for s in samples if s.name in stack]
    cpu = cpu_by_process(watched, result.started, result.ended)
    counts = result.counts
    problems = [
        f"{counts[k]} {label}"
        for k, label in (
            ("order_errors", "errors"),
            ("orders_timed_out", "orders without an end state in time"),
            ("orders_other_end", "orders not confirmed (cancelled or failed)"),
            ("dropped_iterations", "arrivals dropped by k6 (no free VU)"),
        )
        if counts.get(k)
    ]
    if result.error_reasons:
        reasons = ", ".join(f"{r} x{n}" for r, n in sorted(result.error_reasons.items()))
        problems = [f"{p} ({reasons})" if p.endswith(" errors") else p for p in problems]
    cut_off = result.unfinished - counts.get("orders_timed_out", 0)
    if cut_off > 0:
        problems.append(f"{cut_off} accepted orders still open when k6 stopped")
    if result.retry_after_missing:
        problems.append(f"{result.retry_after_missing} refusals without Retry-After")
    return RunSummary(
        name=result.scenario,
        description=description,
        started=result.started,
        ended=result.ended,
        finished=result.finished,
        confirmed=counts.get("orders_confirmed", 0),
        latencies_ms=[ms for _t, ms, _r in result.confirmations],
        last_completion=max((t for t, _ms, _r in result.confirmations), default=None),
        cpu_seconds=cpu,
        problems=problems,
        thresholds_held=result.exit_code == 0,
        extra={
            "accepted": str(counts.get("orders_accepted", 0)),
            "shed (429/503)": str(counts.get("orders_shed", 0)),
            "POST p50 / p99 ms": (
                f"{percentile(result.post_ms, 50):.0f} / {percentile(result.post_ms, 99):.0f}"
            ),
        },
    )


@dataclass(frozen=True)
class RateStep:
    rate: float
    accepted: int
    confirmed: int
    p99_ms: float
    shed: int = 0

    def holds(self, target_ms: float) -> bool:
        """Every order offered at this rate taken (none shed) and confirmed, p99 in target."""
        return (
            self.accepted > 0
            and self.shed == 0
            and self.confirmed == self.accepted
            and self.p99_ms <= target_ms
        )


def rate_steps(result: K6Result) -> list[RateStep]:
    latencies: dict[float, list[float]] = {}
    for _t, ms, rate in result.confirmations:
        latencies.setdefault(rate, []).append(ms)
    steps = []
    for rate in sorted({*result.accepted_by_rate, *result.shed_by_rate}):
        seen = latencies.get(rate, [])
        accepted, shed = result.accepted_by_rate.get(rate, 0), result.shed_by_rate.get(rate, 0)
        steps.append(RateStep(rate, accepted, len(seen), percentile(seen, 99), shed))
    return steps


def saturation_rate(steps: Sequence[RateStep], target_ms: float) -> float | None:
    """The highest offered rate up to which every step held p99 <= target with every order
    confirmed; None if the first step already missed."""
    best = None
    for step in steps:
        if not step.holds(target_ms):
            break
        best = step.rate
    return best


def baseline_summary(
    runs: Sequence[WorkflowRun],
    started: float,
    ended: float,
    description: str,
    samples: Iterable[Sample],
    processes: Sequence[str],
) -> RunSummary:
    """processes: the baseline app and daprd, plus the shared placement and scheduler (the stack
    is idle meanwhile, so what they use in the window is the baseline's)."""
    done = [r for r in runs if r.completed is not None]
    failed = [r for r in runs if r.completed is None]
    statuses = sorted({r.status for r in failed})
    return RunSummary(
        name="baseline",
        description=description,
        started=started,
        ended=ended,
        finished=len(done),
        confirmed=len(done),
        latencies_ms=[r.latency_ms for r in done if r.latency_ms is not None],
        last_completion=max((r.completed for r in done if r.completed), default=None),
        cpu_seconds=cpu_by_process([s for s in samples if s.name in processes], started, ended),
        problems=[f"{len(failed)} workflows did not complete ({', '.join(statuses)})"]
        if failed
        else [],
    )
