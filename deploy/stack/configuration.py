"""Each sidecar's Configuration (dapr/<app-id>.yaml), with two settings a run may override from
its environment, so a benchmark or a test need not edit the committed files:

- TRACING_SAMPLING_RATE (0..1): `spec.tracing.samplingRate`. The files say "1", every request,
  as a development stack should; the README recommends a lower rate for production load. The
  apps sample with the same ratio (`app_tracing_env`): the gateway starts each order's trace,
  and the sidecars and apps after it follow its decision.
- WORKFLOW_RETENTION (a Go duration, e.g. "30s"): `spec.workflow.stateRetentionPolicy.anyTerminal`,
  how long a finished workflow instance is kept (order-service's file says 1h).

Without either, the committed file is used as it is. With one, a copy goes to RUN_DIR/config/,
rewritten only when it changes: daprd reloads what changes under its feet.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import yaml

from deploy.stack.paths import RUN_DIR

DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")


def sampling_rate(env: Mapping[str, str]) -> str | None:
    value = env.get("TRACING_SAMPLING_RATE")
    if value is None:
        return None
    try:
        rate = float(value)
    except ValueError:
        rate = -1.0
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"TRACING_SAMPLING_RATE must be a number from 0 to 1, not {value!r}")
    return value


def retention(env: Mapping[str, str]) -> str | None:
    value = env.get("WORKFLOW_RETENTION")
    if value is not None and not DURATION.match(value):
        raise ValueError(f"WORKFLOW_RETENTION must be a Go duration such as 30s, not {value!r}")
    return value


def configuration(path: Path, env: Mapping[str, str], out_dir: Path = RUN_DIR / "config") -> Path:
    """The Configuration file a sidecar should be given: `path`, or its overridden copy."""
    rate, keep = sampling_rate(env), retention(env)
    if rate is None and keep is None:
        return path
    doc = yaml.safe_load(path.read_text())
    spec = doc.setdefault("spec", {})
    if rate is not None:
        spec.setdefault("tracing", {})["samplingRate"] = rate
    if keep is not None and "workflow" in spec:  # only the app that hosts workflows has one
        spec["workflow"].setdefault("stateRetentionPolicy", {})["anyTerminal"] = keep
    text = f"# Written by deploy/stack/configuration.py from {path.name}\n" + yaml.safe_dump(
        doc, sort_keys=False
    )
    out = out_dir / path.name
    if not out.is_file() or out.read_text() != text:
        out_dir.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return out


def app_tracing_env(env: Mapping[str, str]) -> dict[str, str]:
    """OpenTelemetry's own variables, so the apps sample as their sidecars do."""
    rate = sampling_rate(env)
    if rate is None:
        return {}
    return {"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": rate}
