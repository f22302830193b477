"""deploy/stack/configuration.py: a run's overrides of the sidecars' Configuration files."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy.stack.configuration import app_tracing_env, configuration
from deploy.stack.paths import ROOT

ORDER_SERVICE = ROOT / "dapr" / "order-service.yaml"
GATEWAY = ROOT / "dapr" / "gateway.yaml"


def test_without_overrides_the_committed_file_is_used(tmp_path: Path):
    assert configuration(ORDER_SERVICE, {}, tmp_path) == ORDER_SERVICE
    assert app_tracing_env({}) == {}


def test_overrides_go_to_a_copy_and_keep_everything_else(tmp_path: Path):
    env = {"TRACING_SAMPLING_RATE": "0.01", "WORKFLOW_RETENTION": "30s"}
    copy = configuration(ORDER_SERVICE, env, tmp_path)
    assert copy.parent == tmp_path
    spec, original = (
        yaml.safe_load(copy.read_text())["spec"],
        yaml.safe_load(ORDER_SERVICE.read_text())["spec"],
    )
    assert spec["tracing"]["samplingRate"] == "0.01"
    assert spec["workflow"]["stateRetentionPolicy"]["anyTerminal"] == "30s"
    assert spec["accessControl"] == original["accessControl"]
    assert app_tracing_env(env) == {
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.01",
    }


def test_retention_is_set_only_where_workflows_are_hosted(tmp_path: Path):
    copy = configuration(GATEWAY, {"WORKFLOW_RETENTION": "30s"}, tmp_path)
    assert "workflow" not in yaml.safe_load(copy.read_text())["spec"]


def test_an_unchanged_copy_is_not_rewritten(tmp_path: Path):
    env = {"TRACING_SAMPLING_RATE": "0.1"}
    copy = configuration(GATEWAY, env, tmp_path)
    written = copy.stat().st_mtime_ns
    copy.touch()  # a rewrite would change the time again; daprd reloads a rewritten file
    touched = copy.stat().st_mtime_ns
    assert configuration(GATEWAY, env, tmp_path).stat().st_mtime_ns == touched >= written


@pytest.mark.parametrize(
    "env",
    [
        {"TRACING_SAMPLING_RATE": "2"},
        {"TRACING_SAMPLING_RATE": "all"},
        {"WORKFLOW_RETENTION": "1 hour"},
    ],
)
def test_nonsense_is_refused_with_the_variable_named(tmp_path: Path, env: dict[str, str]):
    with pytest.raises(ValueError, match=next(iter(env))):
        configuration(ORDER_SERVICE, env, tmp_path)
