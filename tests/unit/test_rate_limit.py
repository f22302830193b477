"""Per-client token buckets (apps/gateway/ratelimit.py) on an injected clock, and the gateway's
429 answers: per token subject, or per address for anonymous callers."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from apps.gateway.ratelimit import RateLimiter
from apps.gateway.settings import RateLimitSettings
from apps.gateway.tokens import Role
from tests.unit.gateway_app import FakeClock, FakeSidecar, gateway, new_keys


def allowed(limiter: RateLimiter, client: str, count: int) -> int:
    return sum(limiter.take(client).allowed for _ in range(count))


def test_a_rested_client_gets_its_burst_then_is_refused():
    clock = FakeClock()
    limiter = RateLimiter(per_second=2, burst=5, clock=clock)
    assert allowed(limiter, "a", 5) == 5
    refused = limiter.take("a")
    assert not refused.allowed
    assert refused.retry_after == pytest.approx(0.5)  # one token back at 2 per second


def test_tokens_come_back_at_the_rate_and_never_beyond_the_burst():
    clock = FakeClock()
    limiter = RateLimiter(per_second=2, burst=5, clock=clock)
    allowed(limiter, "a", 5)
    clock.now += 1.0
    assert allowed(limiter, "a", 5) == 2
    clock.now += 3600
    assert allowed(limiter, "a", 10) == 5


def test_retry_after_says_when_the_next_token_is_back():
    clock = FakeClock()
    limiter = RateLimiter(per_second=0.1, burst=1, clock=clock)
    assert limiter.take("a").allowed
    clock.now += 4
    assert limiter.take("a").retry_after == pytest.approx(6)
    clock.now += 6
    assert limiter.take("a").allowed


def test_clients_have_their_own_buckets():
    limiter = RateLimiter(per_second=1, burst=3, clock=FakeClock())
    assert allowed(limiter, "a", 10) == 3
    assert allowed(limiter, "b", 10) == 3


def test_a_clock_that_steps_back_refills_nothing():
    clock = FakeClock()
    limiter = RateLimiter(per_second=1, burst=2, clock=clock)
    allowed(limiter, "a", 2)
    clock.now -= 100
    assert not limiter.take("a").allowed
    clock.now += 100.5  # back where it was, plus half a token's time
    assert not limiter.take("a").allowed
    clock.now += 0.5
    assert limiter.take("a").allowed


def test_the_least_recently_used_bucket_goes_first_beyond_max_clients():
    limiter = RateLimiter(per_second=1, burst=1, max_clients=2, clock=FakeClock())
    limiter.take("a")
    limiter.take("b")
    limiter.take("a")  # b is now the least recently used
    limiter.take("c")
    assert list(limiter.buckets) == ["a", "c"]


@pytest.mark.parametrize(
    "env",
    [
        {"RATE_LIMIT_PER_SECOND": "0"},
        {"RATE_LIMIT_PER_SECOND": "nan"},
        {"RATE_LIMIT_BURST": "0"},
        {"RATE_LIMIT_MAX_CLIENTS": "0"},
    ],
)
def test_settings_out_of_range_stop_the_start(env):
    with pytest.raises(ValueError):
        RateLimitSettings.from_env(env)


def test_settings_come_from_the_environment():
    env = {"RATE_LIMIT_PER_SECOND": "2.5", "RATE_LIMIT_BURST": "7", "RATE_LIMIT_MAX_CLIENTS": "9"}
    assert RateLimitSettings.from_env(env) == RateLimitSettings(2.5, 7, 9)


# --- at the gateway ---------------------------------------------------------------------------


def test_a_client_over_its_rate_gets_429_and_another_is_unaffected(tmp_path: Path):
    keys, sidecar, clock = new_keys(tmp_path), FakeSidecar(), FakeClock()
    app = gateway(keys, sidecar, clock, per_second=1, burst=2)
    alice, bob = keys.headers("alice", Role.CUSTOMER), keys.headers("bob", Role.CUSTOMER)
    with TestClient(app) as client:
        answers = [client.get("/api/v1/accounts/alice", headers=alice) for _ in range(3)]
        assert [r.status_code for r in answers] == [404, 404, 429]  # the fake has no account
        refused = answers[-1]
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.headers["retry-after"] == "1"
        assert refused.json()["status"] == 429
        assert len(sidecar.calls) == 2  # the refused call went nowhere
        assert client.get("/api/v1/accounts/bob", headers=bob).status_code == 404
        # A fresh token for the same subject shares the subject's bucket.
        assert client.get("/api/v1/accounts/alice", headers=alice).status_code == 429
        clock.now += 1
        assert client.get("/api/v1/accounts/alice", headers=alice).status_code == 404


def test_anonymous_callers_are_limited_by_address(tmp_path: Path):
    keys, clock = new_keys(tmp_path), FakeClock()
    app = gateway(keys, FakeSidecar(), clock, per_second=1, burst=2)
    with (
        TestClient(app, client=("192.0.2.1", 1000)) as first,
        TestClient(app, client=("192.0.2.2", 1000)) as second,
    ):
        codes = [first.get("/api/v1/orders/o-1").status_code for _ in range(3)]
        assert codes == [401, 401, 429]
        bad = {"Authorization": "Bearer not-a-token"}  # a bad token counts as its address
        assert first.get("/api/v1/orders/o-1", headers=bad).status_code == 429
        assert second.get("/api/v1/orders/o-1").status_code == 401


def test_probes_and_the_openapi_document_are_not_limited(tmp_path: Path):
    keys = new_keys(tmp_path)
    app = gateway(keys, FakeSidecar(), FakeClock(), per_second=1, burst=1)
    with TestClient(app) as client:
        assert [client.get("/healthz").status_code for _ in range(3)] == [200] * 3
        assert [client.get("/openapi.json").status_code for _ in range(3)] == [200] * 3
