"""The scenarios of a bench run: the full set (`make bench`) and the subset `make test` runs."""

from __future__ import annotations

from dataclasses import dataclass, field

TARGET_P99_MS = 2000.0


@dataclass(frozen=True)
class Scenario:
    name: str  # k6's SCENARIO
    description: str
    params: dict[str, str] = field(default_factory=dict)
    label: str = ""  # in the report, when it differs from `name`

    @property
    def title(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class BaselineRun:
    description: str
    count: int
    rate: float  # workflows/s; 0: as fast as `concurrency` in flight allow
    concurrency: int = 20


@dataclass(frozen=True)
class Plan:
    size: str
    scenarios: list[Scenario]
    baselines: list[BaselineRun]
    customers: int  # one per VU at most
    stock: int
    # Finished workflow instances purged after this (WORKFLOW_RETENTION); the state store is
    # sampled and, after the load, must fall back to a tenth of its peak within purge_wait s.
    retention: str | None = None
    purge_wait: float = 0.0


COMMON = {"TARGET_P99_MS": str(int(TARGET_P99_MS)), "MAX_VUS": "200"}

FULL = Plan(
    size="full",
    scenarios=[
        Scenario(
            "burst",
            "200 orders, 20 VUs as fast as they go",
            {**COMMON, "ORDERS": "200", "VUS": "20", "DRAIN_SECONDS": "120"},
        ),
        Scenario(
            "constant",
            "15 orders/s for 60 s (constant arrival rate)",
            {**COMMON, "RATE": "15", "DURATION": "60", "DRAIN_SECONDS": "90"},
        ),
        Scenario(
            "ramp",
            "2 orders/s, +2 every 20 s up to 30/s; stops once an order is open 8 s",
            {
                **COMMON,
                **{"START_RATE": "2", "STEP_RATE": "2", "STEP_SECONDS": "20", "MAX_RATE": "30"},
                **{"ABORT_MS": "8000", "DRAIN_SECONDS": "30"},
            },
        ),
        # RATE is set from the ramp's saturation point: the rate itself for 60 s (does it hold
        # longer than a step?), then twice it.
        Scenario(
            "constant",
            "the saturation rate for 60 s",
            {**COMMON, "DURATION": "60", "DRAIN_SECONDS": "90"},
            label="saturation-hold",
        ),
        Scenario(
            "overload",
            "twice the saturation rate for 30 s",
            {**COMMON, "DURATION": "30", "DRAIN_SECONDS": "90"},
        ),
    ],
    baselines=[
        BaselineRun("200 workflows, 20 in flight as fast as they go", 200, 0.0, 20),
        BaselineRun("15 workflows/s for 30 s (constant rate)", 450, 15.0),
    ],
    customers=200,
    stock=100_000,
)

SUBSET = Plan(
    size="subset",
    scenarios=[
        Scenario(
            "constant",
            "4 orders/s for 12 s (constant arrival rate)",
            {**COMMON, "RATE": "4", "DURATION": "12", "MAX_VUS": "60"}
            | {"DRAIN_SECONDS": "45", "ORDER_TIMEOUT_MS": "45000"},
        )
    ],
    baselines=[],
    customers=60,
    stock=1_000,
    retention="10s",
    purge_wait=60.0,
)

# `make soak`: does a long run level off? Closed loop (40 customers, each placing its next order
# once the last one ended), so the stack runs at its own pace and nothing is shed; retention
# short enough that purging is in steady state well inside the run.
SOAK = Plan(
    size="soak",
    scenarios=[
        Scenario(
            "burst",
            "20,000 orders, 40 VUs (closed loop), retention 2 min",
            {**COMMON, "ORDERS": "20000", "VUS": "40", "MAX_VUS": "40"}
            | {"MAX_SECONDS": "3600", "DRAIN_SECONDS": "120"},
            label="soak",
        )
    ],
    baselines=[],
    customers=40,
    stock=25_000,
    retention="2m",
    purge_wait=300.0,
)

PLANS = {p.size: p for p in (FULL, SUBSET, SOAK)}


def saturation_or_start(saturation: float | None, ramp_start: float = 2.0) -> float:
    return saturation if saturation is not None else ramp_start
