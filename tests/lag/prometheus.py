"""A real Prometheus server (Debian's package, deploy/setup/prometheus.sh) on 127.0.0.1, with the
repository's alert rules (deploy/prometheus-rules.yml) and one scrape job: the stack's lag
exporter. Scrapes and evaluates every EVERY_SECONDS (the repository's config says 15 s; shorter
here so the test sees each change soon; the rules' own windows are unchanged)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import yaml

from deploy.stack.kafka import LAG_EXPORTER_PORT
from deploy.stack.paths import CACHE_DIR, ROOT

PORT = 9099  # clear of the stack's ports (README) and below the ephemeral range
EVERY_SECONDS = 5
RULES = ROOT / "deploy" / "prometheus-rules.yml"


def binary() -> Path:
    found = sorted(CACHE_DIR.glob("prometheus-*/prometheus"))
    if not found:
        raise RuntimeError("Prometheus is not installed: run deploy/setup/prometheus.sh")
    return found[-1]


class Prometheus:
    def __init__(self) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="lag-prometheus-"))
        self.url = f"http://127.0.0.1:{PORT}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60.0) -> None:
        config = {
            "global": {
                "scrape_interval": f"{EVERY_SECONDS}s",
                "evaluation_interval": f"{EVERY_SECONDS}s",
            },
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {
                    "job_name": "kafka-lag",
                    "static_configs": [{"targets": [f"127.0.0.1:{LAG_EXPORTER_PORT}"]}],
                }
            ],
        }
        (self.work / "prometheus.yml").write_text(yaml.safe_dump(config))
        argv = [
            str(binary()),
            f"--config.file={self.work / 'prometheus.yml'}",
            f"--storage.tsdb.path={self.work / 'data'}",
            f"--web.listen-address=127.0.0.1:{PORT}",
        ]
        with open(self.work / "prometheus.log", "wb") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Prometheus did not start: {self.log_tail()}")
            time.sleep(0.5)

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self) -> str:
        path = self.work / "prometheus.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def alerts(self) -> list[dict]:
        """Alerts pending or firing now (GET /api/v1/alerts)."""
        body = httpx.get(f"{self.url}/api/v1/alerts", timeout=5).json()
        return body["data"]["alerts"]

    def query(self, expr: str) -> list[dict]:
        body = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5).json()
        return body["data"]["result"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.work, ignore_errors=True)
