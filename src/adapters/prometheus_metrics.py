"""Prometheus series, one registry per process (no module-level globals).

Every series is named `imagegate_*`. Labels carry only bounded, non-secret values: route
templates (never raw paths), methods, statuses, error codes, adapter names. Never a key or key id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from celery import Celery
from kombu.exceptions import ChannelError
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("imagegate.metrics")

_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_GENERATION_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0)
_QUOTA_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
UNMATCHED_ROUTE = "unmatched"
SUBMISSION_OUTCOMES = ("accepted", "quota_exceeded", "invalid", "unavailable")
# Clients may send any token as a method: anything else is "OTHER", so labels stay bounded.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class Metrics:
    """The series one process (an API or a worker) exposes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "imagegate_http_requests",
            "HTTP requests answered, by route template (`unmatched`: no route), method, status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_duration = Histogram(
            "imagegate_http_request_duration_seconds",
            "Time to answer an HTTP request on a matched route.",
            ["method", "route", "status"],
            buckets=_HTTP_BUCKETS,
            registry=r,
        )
        self.jobs_finished = Counter(
            "imagegate_jobs_finished",
            "Jobs that reached a final status, by status and error code (`none` on success).",
            ["status", "error_code"],
            registry=r,
        )
        self.jobs_submitted = Counter(
            "imagegate_jobs_submitted",
            "Job submissions, by outcome: accepted, quota_exceeded, invalid, unavailable.",
            ["outcome"],
            registry=r,
        )
        for outcome in SUBMISSION_OUTCOMES:  # every outcome charted from 0, not from its first
            self.jobs_submitted.labels(outcome)
        self.credits_charged = Counter(
            "imagegate_credits_charged", "Credits taken from keys by accepted charges.", registry=r
        )
        self.credits_refunded = Counter(
            "imagegate_credits_refunded", "Credits given back to keys.", registry=r
        )
        self.generation_duration = Histogram(
            "imagegate_generation_duration_seconds",
            "Time an image generator took, by generator and outcome (`ok` or an error code).",
            ["generator", "outcome"],
            buckets=_GENERATION_BUCKETS,
            registry=r,
        )
        self.generations_in_flight = Gauge(
            "imagegate_generations_in_flight",
            "Generations running in this process right now.",
            ["generator"],
            registry=r,
        )
        self.quota_duration = Histogram(
            "imagegate_quota_request_duration_seconds",
            "Latency of quota-provider calls, by provider, operation and outcome (ok/error).",
            ["provider", "operation", "outcome"],
            buckets=_QUOTA_BUCKETS,
            registry=r,
        )

        self.webhook_attempts = Counter(
            "imagegate_webhook_attempts",
            "Webhook delivery attempts, by what followed (delivered, retry, gave_up, stopped).",
            ["outcome"],
            registry=r,
        )
        self.webhook_deliveries = Counter(
            "imagegate_webhook_deliveries",
            "Webhook deliveries finished, by outcome (delivered, gave_up, stopped).",
            ["outcome"],
            registry=r,
        )
        self.webhook_duration = Histogram(
            "imagegate_webhook_attempt_duration_seconds",
            "Time one webhook attempt took, to the receiver's answer or the failure.",
            buckets=(*_QUOTA_BUCKETS, 10.0),
            registry=r,
        )

    def webhook_attempt(self, outcome: str, seconds: float) -> None:
        self.webhook_attempts.labels(outcome).inc()
        self.webhook_duration.observe(seconds)
        if outcome != "retry":
            self.webhook_deliveries.labels(outcome).inc()

    def observe_http(self, method: str, route: str, status: int, seconds: float | None) -> None:
        labels = (method if method in _METHODS else "OTHER", route, str(status))
        self.http_requests.labels(*labels).inc()
        if seconds is not None:
            self.http_duration.labels(*labels).observe(seconds)

    def job_submitted(self, outcome: str) -> None:
        self.jobs_submitted.labels(outcome).inc()

    def job_finished(self, status: str, error_code: str | None) -> None:
        self.jobs_finished.labels(status, error_code or "none").inc()

    def watch_queue(self, depth: Callable[[], int], queue: str) -> None:
        """Report `depth()` as `imagegate_queue_depth{queue=…}` on every scrape."""
        self.registry.register(QueueDepthCollector(depth, queue))

    def render(self) -> bytes:
        """The Prometheus text exposition. May block briefly (the queue-depth probe)."""
        return generate_latest(self.registry)


class QueueDepthCollector(Collector):
    """Reads the queue's length when scraped, so the number is never stale."""

    NAME = "imagegate_queue_depth"
    HELP = "Messages waiting in the Celery queue (read from the broker on scrape)."

    def __init__(self, depth: Callable[[], int], queue: str) -> None:
        self._depth = depth
        self._queue = queue

    def describe(self) -> Iterator[Metric]:
        # Without describe() the registry would call collect() (and the broker) at register time.
        yield GaugeMetricFamily(self.NAME, self.HELP, labels=["queue"])

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["queue"])
        try:
            family.add_metric([self._queue], self._depth())
        except Exception as exc:  # a scrape must not fail because the broker is down
            log.warning("queue depth unavailable: %s", type(exc).__name__)
        yield family


def celery_queue_depth(app: Celery, queue: str, timeout: float = 2.0) -> Callable[[], int]:
    """A probe for the number of messages in `queue` on the app's broker (Redis: LLEN of the
    queue and its priority lists; AMQP: the queue's message count)."""

    def depth() -> int:
        with app.connection_for_read() as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
            try:
                declared = connection.default_channel.queue_declare(queue=queue, passive=True)
            except ChannelError:  # the queue does not exist yet: nothing was ever enqueued
                return 0
            return int(declared.message_count)

    return depth
