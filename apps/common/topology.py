"""The apps' ids and ports as dapr.yaml (the run file of `make up` and the dapr CLI) gives them:
read where needed, at start-up, never at import. The one place they are written is dapr.yaml.

A pod has no dapr.yaml (the image holds apps/, workflows/ and dapr/ only), and the loopback
addresses it gives would reach nothing there: `app_ports` then answers nothing, and whoever
needs another app's address takes it from its own settings (the gateway's OPS_APP_URLS)."""

from __future__ import annotations

from pathlib import Path

import yaml

RUN_FILE = Path(__file__).resolve().parents[2] / "dapr.yaml"


def app_ports(run_file: Path = RUN_FILE) -> dict[str, int]:
    """Each app id's `appPort`; empty if there is no run file. ValueError names an app without
    an id or a port."""
    if not run_file.is_file():
        return {}
    doc = yaml.safe_load(run_file.read_text()) or {}
    ports: dict[str, int] = {}
    for app in doc.get("apps", []):
        if "appID" not in app or "appPort" not in app:
            raise ValueError(f"{run_file}: every app needs appID and appPort: {app}")
        ports[str(app["appID"])] = int(app["appPort"])
    return ports
