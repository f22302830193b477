"""Results of chaos runs: one record per fault, kept in .run/chaos/ as each fault finishes, and
docs/chaos.md written from the full matrix (`python -m tests.chaos.report`)."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from deploy.stack.paths import ROOT, RUN_DIR

RESULTS_DIR = RUN_DIR / "chaos"
DOC = ROOT / "docs" / "chaos.md"


@dataclass
class FaultResult:
    profile: str
    fault: str
    orders: int = 0  # orders the system holds for this run's customers
    sent: int = 0  # orders the client tried to place
    accepted: int = 0  # ... and got a 202 for
    confirmed: int = 0
    cancelled: int = 0
    stuck: int = 0
    recovery_seconds: float | None = None  # fault end -> last order's end (0: none ended later)
    breaks: list[str] = field(default_factory=list)
    note: str = ""  # what the fault did
    problem: str = ""  # the fault or the harness failed (not an invariant of the system)
    dead_letters: list[dict] | None = None  # None: nothing lists them
    paths: dict[str, dict[str, int]] = field(default_factory=dict)  # intent -> outcome counts
    seconds: float = 0.0  # the whole fault run: set-up, load, fault, settling, checks
    skipped: str = ""
    # Client requests (POSTs of orders, cancels) answered with an error or not at all, which
    # the client then retried; None: a record from before this was counted.
    failed_requests: int | None = None
    requests: int = 0  # every request the load sent

    def failure_message(self) -> str:
        lines = [f"fault {self.fault} ({self.profile}): {self.note}"]
        if self.problem:
            lines.append(f"  problem: {self.problem}")
        if self.breaks:
            lines.append(f"  {len(self.breaks)} invariant breaks, {self.stuck} orders stuck:")
            lines += [f"  - {b}" for b in self.breaks[:40]]
            if len(self.breaks) > 40:
                lines.append(f"  ... and {len(self.breaks) - 40} more")
        return "\n".join(lines)


@dataclass
class Session:
    profile: str
    size: str  # "subset" or "full"
    orders_per_fault: int = 0
    chosen: str = ""  # CHAOS_FAULTS, when it picked the faults
    started: float = field(default_factory=time.time)
    finished: float | None = None
    stack_note: str = ""
    results: list[FaultResult] = field(default_factory=list)
    replicas: int = 1

    @property
    def label(self) -> str:
        return self.profile + (f" REPLICAS={self.replicas}" if self.replicas > 1 else "")

    @property
    def path(self) -> Path:
        slug = self.label.replace(", ", "-").replace(" ", "-").replace("=", "")
        return RESULTS_DIR / f"{slug}-{self.size}.json"

    def save(self) -> None:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> Session:
        raw = json.loads(path.read_text())
        raw["results"] = [FaultResult(**r) for r in raw["results"]]
        return cls(**raw)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _failed(result: FaultResult) -> str:
    if result.failed_requests is None:
        return "n/a"
    return f"{result.failed_requests} of {result.requests}"


def _dead(result: FaultResult) -> str:
    if result.dead_letters is None:
        return "n/a"
    if not result.dead_letters:
        return "0"
    topics: dict[str, int] = {}
    for d in result.dead_letters:
        topics[d["topic"]] = topics.get(d["topic"], 0) + 1
    return ", ".join(f"{n}x {t}" for t, n in sorted(topics.items()))


HEADER = (
    "| profile | fault | orders | confirmed | cancelled | stuck | s from fault end to last "
    "order end | invariant breaks | failed client requests | dead letters | fault |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
)


def row(r: FaultResult) -> str:
    if r.skipped:
        return f"| {r.profile} | {r.fault} | - | - | - | - | - | - | - | - | skipped: {r.skipped} |"
    breaks = str(len(r.breaks)) + (" + problem" if r.problem else "")
    note = (r.note + (f"; {r.problem}" if r.problem else "")).replace("|", "/")
    return (
        f"| {r.profile} | {r.fault} | {r.orders} | {r.confirmed} | {r.cancelled} | {r.stuck} "
        f"| {_num(r.recovery_seconds)} | {breaks} | {_failed(r)} | {_dead(r)} | {note} |"
    )


def table(sessions: list[Session]) -> str:
    return "\n".join([HEADER, *(row(r) for s in sessions for r in s.results)])


def details(sessions: list[Session], per_fault: int = 10) -> str:
    out = []
    for s in sessions:
        for r in s.results:
            if not (r.breaks or r.problem or r.dead_letters):
                continue
            out.append(f"### {r.profile}: {r.fault}\n")
            if r.problem:
                out.append(f"- problem: {r.problem}")
            out += [f"- {b}" for b in r.breaks[:per_fault]]
            if len(r.breaks) > per_fault:
                out.append(f"- ... and {len(r.breaks) - per_fault} more")
            for d in r.dead_letters or []:
                run = "this run" if d["thisRun"] else "not this run's ids"
                out.append(f"- dead letter on `{d['topic']}` ({run}) {d['reason']}".rstrip())
            out.append("")
    return "\n".join(out)


def summary(s: Session) -> str:
    return (
        f"- {s.label} ({f'CHAOS_FAULTS={s.chosen}' if s.chosen else s.size}, "
        f"{s.orders_per_fault} orders per fault, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(s.started))}): "
        f"{len(s.results)} faults, {sum(r.orders for r in s.results)} orders, "
        f"{((s.finished or s.started) - s.started) / 60:.1f} min"
        + (f" ({s.stack_note})" if s.stack_note else "")
    )


BROKERS_SECTION = [
    "## Three Kafka brokers (`KAFKA_BROKERS=3`)",
    "",
    "A KRaft cluster of three (replication factor 3, `min.insync.replicas=2`, producers with "
    "`acks=all`; deploy/stack/kafka.py). Each broker fault is held 15 s, past the broker "
    "session timeout (9 s); the note gives Kafka's own count of "
    "under-replicated partitions (`kafka-topics --describe --under-replicated-partitions`) "
    "while the broker was away, and how long after its return that count reached 0 (the "
    "fault ends then). The rolling restart stops each broker with SIGTERM (controlled "
    "shutdown), starts it and waits for 0 before the next.",
    "",
]


def brokers_section(sessions: list[Session]) -> list[str]:
    if not sessions:
        return []
    return [*BROKERS_SECTION, *(summary(s) for s in sessions), "", table(sessions), ""]


def markdown(all_sessions: list[Session]) -> str:
    clustered = [s for s in all_sessions if "brokers" in s.profile]
    sessions = [s for s in all_sessions if s not in clustered]
    total = sum((s.finished or s.started) - s.started for s in all_sessions)
    parts = [
        "# Chaos runs",
        "",
        "Written by `python -m tests.chaos.report` from saved chaos sessions; `make chaos` runs "
        "the whole catalogue (200 orders per fault, both profiles, one `CHAOS=1` stack per "
        "profile) and writes it. See tests/chaos/README.md for the faults and the load. After "
        "each fault every order must end CONFIRMED or CANCELLED within 60 s, and stock, money, "
        "payments, notifications and the saga record must agree (tests/chaos/invariants.py).",
        "",
        *(summary(s) for s in sessions),
        f"- total duration: {total / 60:.1f} min",
        "",
        table(sessions),
        "",
        *brokers_section(clustered),
        "## Breaks and dead letters",
        "",
        details(all_sessions) or "None.",
        "",
    ]
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    """`full` (the default) or `subset`: the sessions of that size in .run/chaos; or the paths
    of saved sessions."""
    size = argv[0] if argv else "full"
    if size in ("full", "subset"):
        paths = sorted(RESULTS_DIR.glob(f"*-{size}.json"))
    else:
        paths = [Path(a) for a in argv]
    sessions = [Session.load(p) for p in paths]
    if not sessions:
        print(f"no chaos results ({' '.join(argv) or size}) in {RESULTS_DIR}", file=sys.stderr)
        return 1
    DOC.write_text(markdown(sessions))
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
