"""The rolling upgrade (tests/upgrade/rollout.py) on its own stack: UPGRADE_SIZE=subset (make
test: profile sqlite, single instances) or full; PROFILE and REPLICAS pick the stack.
`make upgrade` runs the full size on both stacks and writes docs/upgrade.md
(tests/upgrade/__main__.py)."""

from __future__ import annotations

import os

import pytest

from deploy.stack.plan import profile_from_env
from deploy.stack.replicas import replicas_from_env
from tests.upgrade import rollout
from tests.upgrade.report import table
from tests.upgrade.stack import old_release


def test_a_rolling_upgrade_under_load_fails_no_request_and_ends_every_order() -> None:
    size = os.environ.get("UPGRADE_SIZE", "subset")
    if size not in rollout.SIZES:
        raise pytest.UsageError(f"UPGRADE_SIZE={size!r}: use one of {', '.join(rollout.SIZES)}")
    profile = profile_from_env()
    replicas = replicas_from_env(profile)
    with old_release(profile, replicas) as api:
        result = rollout.run(api, profile, replicas, rollout.SIZES[size])
    print("\n" + table([result]))
    print("\n".join(result.restarts))
    print(f"saved in {result.save()}")
    problems = result.problems()
    assert not problems, f"{len(problems)} problems, the first: " + "; ".join(problems[:8])
