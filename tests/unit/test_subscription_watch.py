"""The decision to make the sidecar subscribe again (apps/common/health.py), on a fake clock, and
the reading of a Kafka consumer assignment. The real stack's side is in
tests/integration/test_subscriptions.py."""

from __future__ import annotations

import struct

from apps.common.health import SubscriptionWatch, _assigned_topics


def watch() -> SubscriptionWatch:
    return SubscriptionWatch(None, ["a", "b"], grace=60, unhealthy_for=45, every=5)  # type: ignore[arg-type]


def run(w: SubscriptionWatch, start: float, end: float, unconsumed: list[str] | None) -> None:
    """One check every 5 s, as the sidecar's probes pace them."""
    now = start
    while now <= end:
        w.observe(unconsumed, now)
        now += 5


def failing(w: SubscriptionWatch, now: float) -> bool:
    return now < w.failing_until


def test_a_loss_that_lasts_the_grace_fails_healthz_long_enough_then_stops():
    w = watch()
    run(w, 0, 55, ["a"])
    assert not failing(w, 55)
    run(w, 60, 60, ["a"])
    assert failing(w, 60) and failing(w, 104) and not failing(w, 105)


def test_a_short_loss_never_fails_healthz():
    w = watch()
    run(w, 0, 50, ["a"])  # a rebalance, or daprd subscribing again after the app was unhealthy
    run(w, 55, 300, [])
    run(w, 305, 355, ["b"])
    assert w.failing_until == float("-inf")


def test_no_evidence_is_not_a_loss():
    w = watch()
    run(w, 0, 30, ["a"])
    run(w, 35, 35, None)  # broker or sidecar not answering
    run(w, 40, 95, ["a"])
    assert not failing(w, 95)


def test_a_gap_in_the_checks_times_the_loss_afresh():
    w = watch()
    run(w, 0, 30, ["a"])
    run(w, 75, 125, ["a"])  # the app was paused 45 s: daprd will subscribe again by itself
    assert not failing(w, 125)
    run(w, 130, 135, ["a"])
    assert failing(w, 135)


def test_after_failing_it_waits_a_grace_before_failing_again():
    w = watch()
    starts = []
    for now in range(0, 230, 5):  # lost all along
        before = w.failing_until
        w.observe(["a"], now)
        if w.failing_until != before:
            starts.append(now)
    assert starts == [60, 165]  # the first window ends at 105; a new loss is timed from there


def assignment(topics: dict[str, list[int]]) -> bytes:
    out = struct.pack(">hi", 1, len(topics))
    for topic, partitions in topics.items():
        name = topic.encode()
        out += struct.pack(">h", len(name)) + name + struct.pack(">i", len(partitions))
        out += b"".join(struct.pack(">i", p) for p in partitions)
    return out + struct.pack(">i", -1)  # no user data


def test_assigned_topics_are_those_with_partitions():
    data = assignment({"reserve-stock": [0, 2], "release-stock": [], "order-confirmed": [1]})
    assert _assigned_topics(data) == {"reserve-stock", "order-confirmed"}
    assert _assigned_topics(b"") == set() and _assigned_topics(None) == set()
