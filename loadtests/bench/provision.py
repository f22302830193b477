"""Before k6 starts: stock for every order the scenario may place, a funded account and a
customer token for each simulated customer (one per VU), in a JSON file k6 reads."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import httpx

from apps.gateway.devtoken import issue
from apps.gateway.tokens import Role

BALANCE = "1000000.00"  # orders cost 1.00: never declined


def check_loopback(base_url: str) -> None:
    if urlparse(base_url).hostname not in ("127.0.0.1", "localhost"):
        raise SystemExit(f"load tests target loopback only, not {base_url}")


def provision(base_url: str, customers: int, stock: int, out: Path, lifetime_min: int) -> Path:
    check_loopback(base_url)
    run = uuid.uuid4().hex[:8]
    product = f"bench-{run}"
    lifetime = timedelta(minutes=lifetime_min)
    admin = {"Authorization": f"Bearer {issue(f'bench-{run}', Role.ADMIN, lifetime)}"}
    ids = [f"bench-{run}-{i}" for i in range(customers)]
    with httpx.Client(base_url=base_url, headers=admin, timeout=30) as api:
        api.put(f"/inventory/{product}", json={"available": stock}).raise_for_status()
        for customer in ids:
            api.put(f"/accounts/{customer}", json={"balance": BALANCE}).raise_for_status()
    config = {
        "baseUrl": base_url,
        "productId": product,
        "customers": [{"id": c, "token": issue(c, Role.CUSTOMER, lifetime)} for c in ids],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(config))
    out.chmod(0o600)  # bearer tokens
    return out
