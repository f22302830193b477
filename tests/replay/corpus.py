"""The committed corpus of recorded saga histories: tests/replay/histories/<saga version>/
<path>.json, one file per saga path, each event in protobuf's JSON mapping (readable in a
review), and manifest.json listing them with the saga version that wrote them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from dapr.ext.workflow._durabletask.internal import protos as pb
from google.protobuf import json_format

HISTORIES = Path(__file__).parent / "histories"
MANIFEST = HISTORIES / "manifest.json"


@dataclass(frozen=True)
class Recorded:
    version: str  # the saga version that wrote it (workflows/steps.py SAGA_VERSIONS)
    path: str  # the saga path it went (tests/replay/scenarios.py)
    file: Path
    events: list[pb.HistoryEvent]

    @property
    def name(self) -> str:
        return f"{self.version}/{self.path}"


def patches_of(events: list[pb.HistoryEvent]) -> list[str]:
    """The patches the history recorded (on its `workflowStarted` events), in order."""
    return [
        p
        for e in events
        if e.HasField("workflowStarted")
        for p in e.workflowStarted.version.patches
    ]


def version_of(events: list[pb.HistoryEvent], unversioned: str) -> str:
    """The version name the history recorded (on its first `workflowStarted`), else
    `unversioned`."""
    first = next(e.workflowStarted for e in events if e.HasField("workflowStarted"))
    return first.version.name or unversioned


def outcome_of(events: list[pb.HistoryEvent]) -> str:
    ends = [e.executionCompleted for e in events if e.HasField("executionCompleted")]
    if not ends:
        return "not ended"
    status = pb.OrchestrationStatus.Name(ends[-1].workflowStatus).removeprefix(
        "ORCHESTRATION_STATUS_"
    )
    return f"{status} {ends[-1].result.value}".strip()


def activities_of(events: list[pb.HistoryEvent]) -> list[str]:
    return [e.taskScheduled.name for e in events if e.HasField("taskScheduled")]


def save(
    version: str, path: str, instance_id: str, events: list[pb.HistoryEvent], meta: dict
) -> Recorded:
    file = HISTORIES / version / f"{path}.json"
    file.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "sagaVersion": version,
        "path": path,
        "instanceId": instance_id,
        **meta,
        "events": [json_format.MessageToDict(e) for e in events],
    }
    file.write_text(json.dumps(body, indent=1) + "\n")
    return Recorded(version, path, file, events)


def load(file: Path) -> Recorded:
    body = json.loads(file.read_text())
    events = [json_format.ParseDict(e, pb.HistoryEvent()) for e in body["events"]]
    return Recorded(body["sagaVersion"], body["path"], file, events)


def manifest() -> dict:
    return json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"histories": []}


def load_corpus() -> list[Recorded]:
    """Every history the manifest lists, oldest version first."""
    entries = manifest()["histories"]
    return [load(HISTORIES / entry["file"]) for entry in entries]


def write_manifest(version: str, recorded: list[Recorded], meta: dict, replace: bool) -> None:
    """The manifest with `recorded` in it: with `replace`, instead of every entry of `version`,
    else instead of those of the same paths (other versions are always kept)."""
    paths = {r.path for r in recorded}
    kept = [
        h
        for h in manifest()["histories"]
        if h["version"] != version or (not replace and h["path"] not in paths)
    ]
    entries = kept + [
        {
            "version": r.version,
            "path": r.path,
            "file": str(r.file.relative_to(HISTORIES)),
            "events": len(r.events),
            "activities": activities_of(r.events),
            "outcome": outcome_of(r.events),
            "patches": patches_of(r.events),
            **meta,
        }
        for r in recorded
    ]
    entries.sort(key=lambda h: (int(h["version"].removeprefix("v")), h["path"]))
    body = {"about": "saga histories recorded by `make record-histories`", "histories": entries}
    MANIFEST.write_text(json.dumps(body, indent=1) + "\n")
