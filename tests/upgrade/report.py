"""The rolling upgrade's figures: one Result per run, saved as JSON under .run/upgrade/, printed,
and written into docs/upgrade.md between its result markers (make upgrade)."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.stack.paths import ROOT, RUN_DIR
from tests.upgrade.histories import VersionCheck

RESULTS_DIR = RUN_DIR / "upgrade"
DOC = ROOT / "docs" / "upgrade.md"
BEGIN, END = "<!-- upgrade results: begin -->", "<!-- upgrade results: end -->"


@dataclass
class Result:
    profile: str
    replicas: int
    size: str
    placed: int = 0
    accepted: int = 0
    confirmed: int = 0
    cancelled: int = 0
    stuck: int = 0  # orders neither CONFIRMED nor CANCELLED at the deadline
    failed_requests: list[str] = field(default_factory=list)
    breaks: list[str] = field(default_factory=list)  # the chaos suite's invariants
    versions: VersionCheck = field(default_factory=VersionCheck)
    longest_order_seconds: float = 0.0
    restarts: list[str] = field(default_factory=list)
    switch: list[float] = field(default_factory=list)  # order-service's rollout, wall clock
    load_left_seconds: float = 0.0  # orders still flowed this long after the last restart
    reconciler: int = 0  # sagas order-service's reconciler found stalled or resumed
    seconds: float = 0.0
    finished: str = ""

    @property
    def label(self) -> str:
        return f"{self.profile}, {'single instances' if self.replicas == 1 else 'REPLICAS=2'}"

    def problems(self) -> list[str]:
        """Everything that makes the run fail; empty when the upgrade was invisible."""
        v = self.versions
        problems = [f"failed client request: {f}" for f in self.failed_requests]
        problems += [f"invariant: {b}" for b in self.breaks]
        problems += [f"saga: {b}" for b in v.breaks] + [f"no history: {m}" for m in v.missing]
        if self.reconciler:
            problems.append(f"the reconciler stepped in {self.reconciler} times")
        if self.stuck:
            problems.append(f"{self.stuck} orders did not end")
        if v.unfinished:
            problems.append(f"{v.unfinished} workflows still running at rest")
        if v.old_finished_by_new == 0:
            problems.append("no v1 saga was in flight across the deploy: nothing was proven")
        if self.load_left_seconds <= 0:
            problems.append("the orders stopped flowing before the last restart ended")
        if self.accepted != self.placed:
            problems.append(f"only {self.accepted} of {self.placed} orders accepted")
        return problems

    def save(self) -> Path:
        self.finished = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{self.size}-{self.profile}-{self.replicas}.json"
        path.write_text(json.dumps(dataclasses.asdict(self), indent=1, default=str))
        return path


def table(results: list[Result]) -> str:
    head = (
        "| run | orders placed | confirmed | cancelled | failed client requests | "
        "STALLED | FAILED workflows | invariant breaks | orders not ended | "
        "longest order | sagas v1 / v2 | v1 in flight across the deploy | second runs | "
        "reconciler | took |"
    )
    rows = [head, "|" + "---|" * 15]
    for r in results:
        v = r.versions
        rows.append(
            f"| {r.label} ({r.size}) | {r.placed} | {r.confirmed} | {r.cancelled} | "
            f"{len(r.failed_requests)} | {v.stalled} | {v.failed} | {len(r.breaks)} | "
            f"{r.stuck} | {r.longest_order_seconds:.1f} s | {_versions(v)} | "
            f"{v.old_finished_by_new} | {v.resumed} | {r.reconciler} | {r.seconds:.0f} s |"
        )
    return "\n".join(rows)


def _versions(v: VersionCheck) -> str:
    return f"{v.by_version.get('v1', 0)} / {v.by_version.get('v2', 0)}"


def details(r: Result) -> str:
    v = r.versions
    lines = [f"**{r.label} ({r.size})**, {r.finished}:", ""]
    lines += [f"- {line}" for line in r.restarts]
    between = ", ".join(f"{n} as {ver}" for ver, n in sorted(v.started_in_between.items()))
    lines.append(f"- sagas started while order-service rolled out: {between or 'none'}")
    lines.append(f"- orders flowed on for {r.load_left_seconds:.0f} s after the last restart")
    for problem in r.problems()[:10]:
        lines.append(f"- PROBLEM: {problem}")
    return "\n".join(lines)


def write_doc(results: list[Result], suite_seconds: float) -> None:
    """Replaces the results section of docs/upgrade.md."""
    text = DOC.read_text()
    if BEGIN not in text or END not in text:
        raise RuntimeError(f"{DOC} has no results markers ({BEGIN} ... {END})")
    body = "\n\n".join(
        [
            table(results),
            *(details(r) for r in results),
            f"`make upgrade` took {suite_seconds:.0f} s.",
        ]
    )
    head, rest = text.split(BEGIN, 1)
    DOC.write_text(f"{head}{BEGIN}\n{body}\n{END}{rest.split(END, 1)[1]}")
