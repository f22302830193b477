"""deploy/prometheus-rules.yml: Prometheus' own rule engine (promtool test rules) fires and clears
the consumer-lag alerts as deploy/prometheus-rules.test.yml expects, and the scrape config
reaches the lag exporter."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from deploy.stack.kafka import LAG_EXPORTER_PORT
from deploy.stack.paths import ROOT
from tests.unit.test_prometheus_config import promtool, targets

RULES = ROOT / "deploy/prometheus-rules.yml"
RULE_TESTS = ROOT / "deploy/prometheus-rules.test.yml"


def run_rule_tests(directory: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool(), "test", "rules", RULE_TESTS.name],
        capture_output=True,
        text=True,
        cwd=directory,
        timeout=60,
    )


def test_the_alerts_fire_and_clear_as_their_tests_say():
    done = run_rule_tests(RULES.parent)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_stalled_consumer_alert_that_waits_longer_fails_its_test(tmp_path: Path):
    # The rule tests check timing: with `for: 5m` the stalled alert is not firing at 4m15s.
    slow = RULES.read_text().replace("        for: 1m\n", "        for: 5m\n", 1)
    assert slow != RULES.read_text()
    (tmp_path / RULES.name).write_text(slow)
    shutil.copy(RULE_TESTS, tmp_path / RULE_TESTS.name)
    done = run_rule_tests(tmp_path)
    assert done.returncode != 0
    assert "KafkaConsumerGroupStalled" in done.stdout + done.stderr


def test_promtool_accepts_the_rules():
    argv = [promtool(), "check", "rules", str(RULES)]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_lag_exporter_is_scraped():
    assert set(targets("kafka-lag")) == {f"127.0.0.1:{LAG_EXPORTER_PORT}"}
