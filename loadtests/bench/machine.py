"""The machine, the versions and the settings a bench ran with, for the report."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

import yaml

from apps.gateway.settings import RateLimitSettings
from apps.order_service.settings import OrderServiceSettings
from deploy.stack.configuration import sampling_rate
from deploy.stack.paths import ROOT, dapr_bin, pinned_versions
from loadtests.bench.k6run import k6_binary


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (ln.split(":", 1)[1].strip() for ln in cpuinfo.splitlines() if ln.startswith("model name")),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        int(ln.split()[1])
        for ln in Path("/proc/meminfo").read_text().splitlines()
        if ln.startswith("MemTotal:")
    )
    return {
        "CPU": model,
        "cores": str(os.cpu_count()),
        "RAM": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "kernel": platform.release(),
    }


def _first_line(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return "not installed"
    return out.strip().splitlines()[0] if out.strip() else "unknown"


def versions() -> dict[str, str]:
    pins = pinned_versions()
    return {
        "Dapr (daprd --version)": _first_line([str(dapr_bin("daprd")), "--version"]),
        "Kafka": pins["KAFKA_VERSION"],
        "Zipkin": pins["ZIPKIN_VERSION"],
        "Python": platform.python_version(),
        "k6": _first_line([str(k6_binary()), "version"]),
    }


def sampling_rates() -> dict[str, str]:
    override = sampling_rate(os.environ)  # TRACING_SAMPLING_RATE (deploy/stack/configuration.py)
    rates = {}
    for path in sorted((ROOT / "dapr").glob("*.yaml")):
        if path.stem == "sentry":  # Sentry's own Configuration traces nothing
            continue
        if override is not None:
            rates[path.stem] = override
            continue
        spec = yaml.safe_load(path.read_text()).get("spec", {})
        rates[path.stem] = str(spec.get("tracing", {}).get("samplingRate", "unset"))
    return rates


def settings(profile: str) -> dict[str, str]:
    limits = RateLimitSettings.from_env()
    orders = OrderServiceSettings()
    rates = sampling_rates()
    sampling = ", ".join(f"{app} {rate}" for app, rate in rates.items())
    if len(set(rates.values())) == 1:
        sampling = f"{next(iter(rates.values()))} (every app)"
    return {
        "profile": profile,
        "tracing samplingRate (dapr/*.yaml, or TRACING_SAMPLING_RATE)": sampling,
        "k6 waits for each order with ?waitSeconds= (WAIT_SECONDS; 0: polls)": os.environ.get(
            "WAIT_SECONDS", "5"
        ),
        "sagas in flight at most (MAX_SAGAS_IN_FLIGHT)": str(orders.max_sagas_in_flight),
        "adaptive bound's latency target (SAGA_LATENCY_TARGET_SECONDS)": (
            f"{orders.saga_latency_target_seconds:g}"
            if orders.saga_latency_target_seconds
            else "not set (fixed bound)"
        ),
        "gateway rate limit per token subject": (
            f"{limits.per_second:g}/s, burst {limits.burst}"
            " (RATE_LIMIT_PER_SECOND / RATE_LIMIT_BURST)"
        ),
    }
