"""A consumer that stops: notification-service's sidecar (its Kafka consumer) is SIGSTOPped while
orders flow. A real Prometheus evaluating deploy/prometheus-rules.yml against the stack's lag
exporter must fire KafkaConsumerGroupStalled for its group within the rule's window, the
console's health view must show the group's lag, and the alert must clear after SIGCONT.
No other group may fire. Figures go to .run/lag/result.json."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable

import httpx

from deploy.stack.control import running_group
from deploy.stack.paths import RUN_DIR
from tests.chaos.load import Load, Plan, make_orders, set_up
from tests.lag.prometheus import EVERY_SECONDS, Prometheus

RULE = "KafkaConsumerGroupStalled"
GROUP = "notification-service"
PAUSED = "notification-service/daprd"  # the sidecar holds the Kafka consumer
# The rule: no commit for 1m (range), held for 1m (`for`); Prometheus sees it a scrape late and
# fires at an evaluation: a few intervals of slack.
FIRE_WITHIN = 60 + 60 + 4 * EVERY_SECONDS
CLEAR_WITHIN = 60.0
LEAD_SECONDS = 15.0
ORDERS_PER_SECOND = 0.5


def firing_groups(prometheus: Prometheus) -> set[str]:
    return {
        a["labels"].get("consumergroup", "")
        for a in prometheus.alerts()
        if a["labels"].get("alertname") == RULE and a["state"] == "firing"
    }


def wait_until(condition: Callable[[], bool], within: float, began: float) -> float | None:
    """Seconds from `began` until condition() held (polled every second), or None."""
    while time.monotonic() - began < within:
        if condition():
            return round(time.monotonic() - began, 1)
        time.sleep(1.0)
    return None


def lag_on_console(api: httpx.Client) -> dict[str, int]:
    view = api.get("/health").json()
    assert view["lagRead"], view
    return {f"{r['consumerGroup']}/{r['topic']}": r["lag"] for r in view["consumerLag"]}


def test_a_paused_consumer_fires_the_stalled_alert_and_it_clears(stack, api, prometheus):
    plan = Plan.fresh()
    set_up(api, plan, deadline=time.monotonic() + 60)
    window = LEAD_SECONDS + FIRE_WITHIN + CLEAR_WITHIN
    sent = make_orders(plan, int(window * ORDERS_PER_SECOND), seed=6)
    load = Load(api, sent, window, seed=6)
    load.start()
    fired = cleared = None
    seen: set[str] = set()
    console: dict[str, int] = {}
    try:
        time.sleep(LEAD_SECONDS)
        assert GROUP not in firing_groups(prometheus), "the alert fired before the pause"
        group = running_group(PAUSED)
        os.killpg(group, signal.SIGSTOP)
        paused = time.monotonic()
        try:

            def fired_now() -> bool:
                seen.update(firing_groups(prometheus))
                return GROUP in seen

            fired = wait_until(fired_now, FIRE_WITHIN, paused)
            if fired is not None:
                console = lag_on_console(api)
        finally:
            os.killpg(group, signal.SIGCONT)
        resumed = time.monotonic()
        cleared = wait_until(lambda: GROUP not in firing_groups(prometheus), CLEAR_WITHIN, resumed)
    finally:
        load.wait()
    result = {
        "orders": len(sent),
        "fired_after_pause_seconds": fired,
        "fire_bound_seconds": FIRE_WITHIN,
        "cleared_after_resume_seconds": cleared,
        "clear_bound_seconds": CLEAR_WITHIN,
        "groups_that_fired": sorted(seen),
        "console_lag_while_firing": console,
        "evaluation_interval_seconds": EVERY_SECONDS,
    }
    (RUN_DIR / "lag").mkdir(parents=True, exist_ok=True)
    (RUN_DIR / "lag" / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    assert fired is not None, f"{RULE} did not fire for {GROUP} within {FIRE_WITHIN}s: {result}"
    assert sum(v for k, v in console.items() if k.startswith(f"{GROUP}/")) > 0, result
    assert cleared is not None, f"{RULE} still firing {CLEAR_WITHIN}s after SIGCONT: {result}"
    assert seen == {GROUP}, f"other groups fired too: {result}"
