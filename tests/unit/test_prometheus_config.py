"""deploy/prometheus.yml: valid for Prometheus (promtool) and in step with the stack's ports."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.stack.paths import CACHE_DIR, ROOT
from deploy.stack.runfile import load_runfile
from deploy.stack.services import PLACEMENT_METRICS, SCHEDULER_METRICS

CONFIG = ROOT / "deploy/prometheus.yml"


def promtool() -> str:
    found = shutil.which("promtool") or max(
        (str(p) for p in CACHE_DIR.glob("promtool-*/promtool")), default=None
    )
    if found is None:
        pytest.fail("promtool not found: run `bash deploy/setup/promtool.sh` (make setup does)")
    return found


def check(config: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool(), "check", "config", str(config)], capture_output=True, text=True
    )


def test_promtool_accepts_the_scrape_config():
    done = check(CONFIG)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_promtool_rejects_a_broken_config(tmp_path):
    broken = tmp_path / "prometheus.yml"
    broken.write_text("scrape_configs:\n  - job_name: apps\n    scrape_interval: often\n")
    assert check(broken).returncode != 0


def targets(job: str) -> dict[str, dict]:
    doc = yaml.safe_load(CONFIG.read_text())
    (scrape,) = [j for j in doc["scrape_configs"] if j["job_name"] == job]
    return {
        t: group.get("labels", {}) for group in scrape["static_configs"] for t in group["targets"]
    }


def test_every_app_sidecar_and_control_plane_server_is_scraped(monkeypatch):
    monkeypatch.delenv("GATEWAY_PORT", raising=False)
    apps = load_runfile(ROOT / "dapr.yaml", "sqlite")
    assert targets("apps") == {f"127.0.0.1:{a.app_port}": {"app_id": a.app_id} for a in apps}
    assert targets("dapr-sidecars") == {
        f"127.0.0.1:{a.metrics_port}": {"app_id": a.app_id} for a in apps
    }
    assert set(targets("dapr-control-plane")) == {
        f"127.0.0.1:{PLACEMENT_METRICS}",
        f"127.0.0.1:{SCHEDULER_METRICS}",
    }
