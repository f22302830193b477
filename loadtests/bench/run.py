"""One bench run: stack, provisioning, the scenarios under the sampler, the baseline, the report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.stack.paths import RUN_DIR
from loadtests.baseline import sidecar as baseline
from loadtests.baseline.driver import run_workflows
from loadtests.bench import stack
from loadtests.bench.k6run import K6Result, run_k6
from loadtests.bench.plan import TARGET_P99_MS, Plan, saturation_or_start
from loadtests.bench.provision import provision
from loadtests.bench.sampler import Sample, Sampler
from loadtests.bench.statestore import StateSample, StateSampler, wait_for_purge
from loadtests.bench.summary import (
    RateStep,
    RunSummary,
    baseline_summary,
    rate_steps,
    saturation_rate,
    scenario_summary,
)

BASE_URL = "http://127.0.0.1:8080/api/v1"
SHARED_CONTROL_PLANE = ("placement", "scheduler")


def say(msg: str) -> None:
    print(f"\033[1m==> bench: {msg}\033[0m", flush=True)


@dataclass
class BenchRun:
    profile: str
    size: str
    scenarios: list[RunSummary] = field(default_factory=list)
    confirmations: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    ramp: list[RateStep] = field(default_factory=list)
    saturation: float | None = None
    baselines: list[RunSummary] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    stack_processes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds: stack start, whole run
    retention: str | None = None  # WORKFLOW_RETENTION the stack ran with, when the plan set it
    state: list[StateSample] = field(default_factory=list)  # the workflow state store over time
    purged_to: int | None = None  # state store rows once the load was over and purged


def run(plan: Plan, profile: str, out_dir: Path = RUN_DIR / "bench") -> BenchRun:
    began = time.monotonic()
    bench = BenchRun(profile, plan.size)
    started_stack = not stack.running()
    if started_stack:
        retention = {"WORKFLOW_RETENTION": plan.retention} if plan.retention else {}
        say(f"starting the stack (profile {profile}{_settings(retention)})")
        stack.up(retention)
        bench.retention = plan.retention
        bench.timings["stack start"] = time.monotonic() - began
    else:
        say("a stack is already running: using it (its own retention), and leaving it running")
    watch: dict[str, int] = {}

    def targets() -> dict[str, int]:
        return {**stack.stack_pids(), **baseline.pids(), **watch}

    try:
        config = provision(BASE_URL, plan.customers, plan.stock, out_dir / "k6-config.json", 180)
        bench.stack_processes = sorted(stack.stack_pids())
        with Sampler(targets) as sampler, StateSampler(profile) as state:
            _warn_leftovers(state)
            _scenarios(plan, bench, sampler, config, out_dir, watch)
            _purged(plan, bench, state)
            _baselines(plan, bench, sampler)
        bench.samples = sampler.snapshot()
        bench.state = state.samples
    finally:
        baseline.stop()
        if started_stack:
            say("stopping the stack")
            stack.down()
    bench.timings["whole run"] = time.monotonic() - began
    return bench


def _warn_leftovers(state: StateSampler) -> None:
    if state.samples and state.samples[0].rows:
        say(
            f"the workflow state store holds {state.samples[0].rows} rows from earlier runs: "
            "figures are comparable only with runs that started alike (docs/bench/README.md "
            "says what this one started from)"
        )


def _settings(env: dict[str, str]) -> str:
    return "".join(f", {k}={v}" for k, v in env.items())


def _purged(plan: Plan, bench: BenchRun, state: StateSampler) -> None:
    """With a retention in force: wait for the finished instances to be purged, and record the
    rows left (the state store's level once the load is over)."""
    if not plan.purge_wait or bench.retention is None or not state.samples:
        return
    base, peak = state.samples[0].rows, max(s.rows for s in state.samples)
    say(f"waiting for the purge (retention {bench.retention}; rows {base} before, peak {peak})")
    last = wait_for_purge(state, plan.purge_wait)
    bench.purged_to = None if last is None else last.rows
    print(f"    state store rows: {base} before, peak {peak}, now {bench.purged_to}", flush=True)


def _settle(what: str) -> None:
    if not stack.wait_idle():
        print(f"WARNING: sagas still in flight before {what}; going on", flush=True)


def _scenarios(
    plan: Plan, bench: BenchRun, sampler: Sampler, config: Path, out_dir: Path, watch: dict
) -> None:
    for i, scenario in enumerate(plan.scenarios, 1):
        params = dict(scenario.params)
        description = scenario.description
        if scenario.title in ("saturation-hold", "overload"):
            rate = saturation_or_start(bench.saturation) * (2 if scenario.name == "overload" else 1)
            params["RATE"] = f"{rate:g}"
            description = f"{rate:g} orders/s for {params['DURATION']} s: {description}"
        _settle(scenario.title)
        say(f"[{i}/{len(plan.scenarios)}] {scenario.title}: {description}")
        sampler.sample_now()
        result = run_k6(scenario.name, params, config, out_dir, watch, scenario.title)
        sampler.sample_now()
        summary = scenario_summary(result, description, sampler.snapshot(), bench.stack_processes)
        summary.name = scenario.title
        bench.scenarios.append(summary)
        bench.confirmations[scenario.title] = result.confirmations
        if scenario.name == "ramp":
            bench.ramp = rate_steps(result)
            bench.saturation = saturation_rate(bench.ramp, TARGET_P99_MS)
        _print_summary(summary, result)


def _baselines(plan: Plan, bench: BenchRun, sampler: Sampler) -> None:
    if not plan.baselines:
        return
    _settle("the baseline")
    say("baseline: starting a bare workflow app and its daprd (app id bench-baseline)")
    baseline.start()
    processes = [*baseline.NAMES, *SHARED_CONTROL_PLANE]
    for run_spec in plan.baselines:
        say(f"baseline: {run_spec.description}")
        started = sampler.sample_now()
        runs = run_workflows(run_spec.count, run_spec.rate, run_spec.concurrency)
        ended = sampler.sample_now()
        summary = baseline_summary(
            runs, started, ended, run_spec.description, sampler.snapshot(), processes
        )
        bench.baselines.append(summary)
        _print_summary(summary, None)
    baseline.stop()


def _print_summary(s: RunSummary, result: K6Result | None) -> None:
    cpu = ", ".join(f"{n} {v * 1000 / max(1, s.finished):.0f}" for n, v in _top(s.cpu_seconds))
    print(
        f"    {s.finished} finished ({s.confirmed} confirmed) in "
        f"{s.ended - s.started:.0f} s: {s.sagas_per_second:.1f} sagas/s; "
        f"p50 {s.p(50):.0f} ms, p95 {s.p(95):.0f} ms, p99 {s.p(99):.0f} ms",
        flush=True,
    )
    print(f"    CPU {s.cpu_ms_per_saga:.0f} ms per saga; top: {cpu}", flush=True)
    if result is not None:
        print(f"    k6 thresholds {'held' if s.thresholds_held else 'MISSED'}", flush=True)
    for problem in s.problems:
        print(f"    problem: {problem}", flush=True)


def _top(cpu: dict[str, float], n: int = 5) -> list[tuple[str, float]]:
    return sorted(cpu.items(), key=lambda kv: -kv[1])[:n]
