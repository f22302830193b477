"""The console's live health figures from order-service's metrics (apps/gateway/monitor.py)."""

from __future__ import annotations

from apps.gateway.monitor import (
    SagaSampler,
    Sample,
    breaker_state,
    consumer_lag,
    p95_seconds,
    parse_saga_metrics,
    per_minute,
    quantile,
)

METRICS = """# TYPE order_saga_started_total counter
order_saga_started_total 12.0
# TYPE order_saga_completed_total counter
order_saga_completed_total 10.0
# TYPE order_saga_compensated_total counter
order_saga_compensated_total 1.0
# TYPE order_saga_failed_total counter
order_saga_failed_total 0.0
# TYPE order_saga_duration_seconds histogram
order_saga_duration_seconds_bucket{le="0.5",outcome="completed"} 4.0
order_saga_duration_seconds_bucket{le="1.0",outcome="completed"} 10.0
order_saga_duration_seconds_bucket{le="+Inf",outcome="completed"} 10.0
order_saga_duration_seconds_bucket{le="0.5",outcome="compensated"} 0.0
order_saga_duration_seconds_bucket{le="1.0",outcome="compensated"} 1.0
order_saga_duration_seconds_bucket{le="+Inf",outcome="compensated"} 1.0
"""


def test_counters_and_buckets_are_read_across_outcomes():
    sample = parse_saga_metrics(METRICS, 100.0)
    assert sample.counts == {"started": 12, "completed": 10, "compensated": 1, "failed": 0}
    assert sample.buckets == {0.5: 4.0, 1.0: 11.0, float("inf"): 11.0}


def test_quantile_interpolates_within_a_bucket_like_prometheus():
    assert quantile(0.5, {0.5: 4.0, 1.0: 10.0, float("inf"): 10.0}) == 0.5 + 0.5 * (1 / 6)
    assert quantile(0.95, {1.0: 0.0, float("inf"): 0.0}) is None
    assert quantile(0.99, {1.0: 1.0, float("inf"): 10.0}) == 1.0  # highest finite bound


def test_per_minute_counts_increases_in_the_minute_they_were_seen():
    base = 60 * 1000
    samples = [
        Sample(base + 5, {"started": 1, "completed": 0, "compensated": 0, "failed": 0}),
        Sample(base + 65, {"started": 4, "completed": 3, "compensated": 0, "failed": 0}),
        Sample(base + 125, {"started": 2, "completed": 1, "compensated": 1, "failed": 0}),
    ]  # order-service restarted before the last sample: its counters started again
    minutes = per_minute(samples, now=base + 130)
    assert len(minutes) == 15 and minutes[-1]["minute"].endswith("Z")
    assert minutes[-2]["started"] == 3 and minutes[-2]["completed"] == 3
    assert minutes[-1] == {**minutes[-1], "started": 2, "completed": 1, "compensated": 1}


def test_p95_is_of_the_sagas_that_ended_in_the_window():
    old = Sample(0, {}, {1.0: 100.0, 10.0: 100.0, float("inf"): 100.0})
    new = Sample(60, {}, {1.0: 100.0, 10.0: 120.0, float("inf"): 120.0})
    assert p95_seconds([old, new]) == round(1.0 + 9.0 * 0.95, 3)
    assert p95_seconds([new]) is None


def test_sagas_before_the_first_sample_count_from_order_services_start():
    sampler = SagaSampler("http://unused/metrics", 10, clock=lambda: 1000.0)
    first = Sample(
        1000.0, {"started": 3, "completed": 2, "compensated": 1, "failed": 0}, {1.0: 3.0}, 990.0
    )
    sampler.keep(first)
    window = sampler.window(None)
    assert [s.at for s in window] == [990.0, 1000.0]
    assert per_minute(window, 1000.0)[-1]["started"] == 3
    assert p95_seconds(window) is not None
    # A process that started before the window: nothing is made up.
    sampler.samples[0] = Sample(1000.0, first.counts, first.buckets, 1000.0 - 3600)
    assert len(sampler.window(None)) == 1


def test_breaker_state_is_the_status_whose_gauge_is_set():
    text = """# TYPE dapr_resiliency_cb_state gauge
dapr_resiliency_cb_state{status="closed",target="app_payment-service"} 0
dapr_resiliency_cb_state{status="open",target="app_payment-service"} 1
"""
    assert breaker_state(text) == "open"
    assert breaker_state("") == "unknown"


LAG_TEXT = """# HELP kafka_lag_exporter_scrape_success 1 if Kafka answered this scrape, else 0
# TYPE kafka_lag_exporter_scrape_success gauge
kafka_lag_exporter_scrape_success 1.0
# HELP kafka_consumergroup_lag_sum Lag of a group on a topic, summed over its partitions
# TYPE kafka_consumergroup_lag_sum gauge
kafka_consumergroup_lag_sum{consumergroup="inventory-service",topic="reserve-stock"} 0.0
kafka_consumergroup_lag_sum{consumergroup="notification-service",topic="order-confirmed"} 12.0
"""


def test_consumer_lag_per_group_and_topic_largest_first():
    read, rows = consumer_lag(LAG_TEXT)
    assert read
    assert rows == [
        {"consumerGroup": "notification-service", "topic": "order-confirmed", "lag": 12},
        {"consumerGroup": "inventory-service", "topic": "reserve-stock", "lag": 0},
    ]


def test_consumer_lag_unread_when_kafka_did_not_answer_the_exporter():
    text = "# TYPE kafka_lag_exporter_scrape_success gauge\nkafka_lag_exporter_scrape_success 0.0\n"
    assert consumer_lag(text) == (False, [])
