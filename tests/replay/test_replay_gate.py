"""The replay gate (no stack): every recorded saga history replays against the current code,
and proofs that the gate works: an unversioned step at the start of the saga fails it, the
same step behind a patch or as a new named version passes it (for the histories that carry a
version name), and a version dropped while histories use it fails it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.replay.corpus import HISTORIES, Recorded, load_corpus, manifest, patches_of, version_of
from tests.replay.gate import Replay, ReplayRegistry, replay
from tests.replay.scenarios import SCENARIOS
from workflows.order_saga import order_saga, register_saga, saga_version
from workflows.steps import ORDER_SAGA, SAGA_VERSION, UNVERSIONED

CORPUS = load_corpus()
AUDIT = "audit_order"  # the proofs' inserted step: an activity that no history has


def current_code() -> ReplayRegistry:
    registry = ReplayRegistry()
    register_saga(registry)
    return registry


def registered(saga: Callable) -> ReplayRegistry:
    registry = ReplayRegistry()
    registry.register_workflow(saga, name=ORDER_SAGA)
    return registry


def verdict(history: Recorded, result: Replay) -> str:
    where = f"history {history.name} (saga {history.version}, {history.file.name})"
    if result.divergence is None:
        return f"{where}: replays ({result.compared} steps compared over {result.turns} turns)"
    return f"{where}: NON-DETERMINISTIC at {result.divergence}"


@pytest.mark.parametrize("history", CORPUS, ids=[h.name for h in CORPUS])
def test_every_recorded_history_replays_on_the_current_code(history: Recorded):
    result = replay(history.events, current_code())
    assert result.divergence is None, verdict(history, result)
    assert result.compared > 0, f"{history.name}: nothing compared"


def test_the_corpus_has_every_path_of_every_version_and_the_current_version():
    versions = {h["version"] for h in manifest()["histories"]}
    assert SAGA_VERSION in versions, f"no histories of saga {SAGA_VERSION}: make record-histories"
    for version in versions:
        number = int(version.removeprefix("v"))
        wanted = {s.path for s in SCENARIOS if s.since_version <= number}
        have = {h.path for h in CORPUS if h.version == version}
        assert have == wanted, f"saga {version}: missing {wanted - have}, unknown {have - wanted}"
    listed = {h.file for h in CORPUS}
    assert set(HISTORIES.glob("*/*.json")) == listed, "history files the manifest does not list"


def test_each_history_carries_the_version_it_is_filed_under_and_no_patch():
    for history in CORPUS:
        assert version_of(history.events, UNVERSIONED) == history.version, history.name
        assert patches_of(history.events) == [], history.name


def saga_with_an_unversioned_step(ctx, order):
    yield ctx.call_activity(AUDIT, input=order)
    return (yield from order_saga(ctx, order))


def saga_with_a_patched_step(ctx, order):
    if ctx.is_patched("audit-order"):
        yield ctx.call_activity(AUDIT, input=order)
    return (yield from order_saga(ctx, order))


def with_a_new_version(latest: Callable, *, keep_current: bool = True) -> ReplayRegistry:
    """The current versions (unless not `keep_current`), and `latest` as v99, the latest."""
    registry = ReplayRegistry()
    if keep_current:
        registry.register_versioned_workflow(
            saga_version(int(SAGA_VERSION[1:])),
            name=ORDER_SAGA,
            version_name=SAGA_VERSION,
            is_latest=False,
        )
    registry.register_versioned_workflow(
        latest, name=ORDER_SAGA, version_name="v99", is_latest=True
    )
    return registry


def test_proof_a_step_inserted_at_the_start_without_a_patch_fails_the_gate():
    failures = {h.name: replay(h.events, registered(saga_with_an_unversioned_step)) for h in CORPUS}
    passed = [name for name, result in failures.items() if result.divergence is None]
    assert not passed, f"the unversioned change replayed cleanly on {passed}"
    first = next(iter(failures.values())).divergence
    assert first is not None and first.turn == 1, str(first)


def test_proof_the_same_step_behind_a_patch_passes_the_gate():
    for history in CORPUS:
        result = replay(history.events, registered(saga_with_a_patched_step))
        assert result.divergence is None, verdict(history, result)


def test_proof_the_same_step_as_a_new_named_version_passes_for_named_histories():
    # Histories from before versions (v1) have no name: the SDK replays them with the latest
    # version, here the one with the new step, so they fail, and must be retired first.
    registry = with_a_new_version(saga_with_an_unversioned_step)
    for history in CORPUS:
        result = replay(history.events, registry)
        if history.version == UNVERSIONED:
            assert result.divergence is not None, history.name
        else:
            assert result.divergence is None, verdict(history, result)


def test_proof_a_version_dropped_while_histories_use_it_fails_the_gate():
    registry = with_a_new_version(saga_version(int(SAGA_VERSION[1:])), keep_current=False)
    named = [h for h in CORPUS if h.version != UNVERSIONED]
    assert named, "no history with a version name"
    for history in named:
        result = replay(history.events, registry)
        assert result.divergence is not None, history.name
        assert "workflowVersionNotAvailable" in result.divergence.current, str(result.divergence)
