"""Webhook series: attempts by what followed, finished deliveries by outcome, attempt latency."""

from __future__ import annotations

from adapters.prometheus_metrics import Metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_retries_count_as_attempts_and_only_endings_as_deliveries() -> None:
    metrics = Metrics()
    metrics.webhook_attempt("retry", 0.2)
    metrics.webhook_attempt("retry", 10.0)
    metrics.webhook_attempt("delivered", 0.05)
    assert sample(metrics, "imagegate_webhook_attempts_total", outcome="retry") == 2
    assert sample(metrics, "imagegate_webhook_deliveries_total", outcome="retry") == 0
    assert sample(metrics, "imagegate_webhook_deliveries_total", outcome="delivered") == 1
    assert sample(metrics, "imagegate_webhook_attempt_duration_seconds_count") == 3
    assert sample(metrics, "imagegate_webhook_attempt_duration_seconds_bucket", le="0.1") == 1
