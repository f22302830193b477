"""Every k6 scenario of loadtests/k6 is bounded in time and carries its thresholds (`k6 inspect`:
the options the script computes, without running it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from loadtests.bench.k6run import SCRIPT, k6_binary

SCENARIOS = ("burst", "constant", "ramp", "overload")


def inspect(tmp_path: Path, scenario: str, **env: str) -> dict:
    if not k6_binary().is_file():
        pytest.skip("k6 is not installed: run `make setup`")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"baseUrl": "http://127.0.0.1:8080/api/v1", "customers": []}))
    flags = [f"--env={k}={v}" for k, v in {"SCENARIO": scenario, **env}.items()]
    argv = [str(k6_binary()), "inspect", f"--env=BENCH_CONFIG={config}", *flags, str(SCRIPT)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(done.stdout)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_each_scenario_is_bounded_in_time(tmp_path: Path, scenario: str) -> None:
    options = inspect(tmp_path, scenario)["scenarios"][scenario]
    assert options["gracefulStop"]
    assert options.get("duration") or options.get("maxDuration") or options.get("stages")


def test_the_constant_rate_holds_p99_under_two_seconds_with_no_error(tmp_path: Path) -> None:
    options = inspect(tmp_path, "constant")
    assert options["scenarios"]["constant"]["rate"] == 15
    assert options["scenarios"]["constant"]["duration"] == "1m0s"
    thresholds = options["thresholds"]
    assert thresholds["order_confirm_ms"] == ["p(99)<2000"]
    assert thresholds["order_errors"] == ["count==0"]
    assert thresholds["dropped_iterations"] == ["count==0"]


def test_the_ramp_climbs_in_steps_to_its_ceiling(tmp_path: Path) -> None:
    ramp = inspect(tmp_path, "ramp", START_RATE="2", STEP_RATE="4", MAX_RATE="10")
    targets = [stage["target"] for stage in ramp["scenarios"]["ramp"]["stages"]]
    assert targets == [2, 2, 6, 6, 10, 10]


def test_overload_expects_shedding_with_retry_after(tmp_path: Path) -> None:
    thresholds = inspect(tmp_path, "overload", RATE="20")["thresholds"]
    assert thresholds["orders_shed"] == ["count>0"]
    assert thresholds["checks"] == ["rate==1"]


def test_a_base_url_off_the_loopback_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "remote.json"
    config.write_text(json.dumps({"baseUrl": "http://192.0.2.1:8080/api/v1", "customers": []}))
    if not k6_binary().is_file():
        pytest.skip("k6 is not installed: run `make setup`")
    argv = [str(k6_binary()), "inspect", f"--env=BENCH_CONFIG={config}", str(SCRIPT)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "loopback only" in done.stdout + done.stderr
