"""The Celery application both sides use (the API publishes, the worker consumes): delivery
policy only. Job state, and how often a job is tried, live in the job record."""

from __future__ import annotations

import os

from celery import Celery

from adapters.celery_webhook_kick import CeleryWebhookKick
from adapters.kombu_redis import TRANSPORT
from entrypoints.settings import Settings

GENERATE_TASK = "imagegate.generate"
QUEUE = "imagegate"
# Webhook deliveries: their own queue, consumed by their own process and pool (worker/webhooks.py)
DELIVER_WEBHOOKS_TASK = "imagegate.deliver_webhooks"
WEBHOOK_QUEUE = "webhooks"

# What every deployment shares, whatever its settings: a message is acknowledged only after its
# task returned (a lost worker's message comes back), one message per worker slot at a time,
# JSON only, no result backend (job state is the job record's), and no Celery logging or events
# of its own (ours are structured, and nobody consumes the events).
DELIVERY_POLICY: dict[str, object] = {
    "task_acks_late": True,
    "task_reject_on_worker_lost": True,
    "task_acks_on_failure_or_timeout": True,
    "worker_prefetch_multiplier": 1,
    "task_default_queue": QUEUE,
    "task_serializer": "json",
    "accept_content": ["json"],
    "result_serializer": "json",
    "result_backend": None,
    "task_ignore_result": True,
    "task_store_errors_even_if_ignored": False,
    "worker_hijack_root_logger": False,
    "worker_redirect_stdouts": False,
    "worker_send_task_events": False,
    "task_send_sent_event": False,
    "enable_utc": True,
}


def visibility_timeout(settings: Settings) -> int:
    """Longer than one task's hard limit times every attempt plus the retry backoff (a retry's
    message is held, unacknowledged, until its countdown), so Redis never redelivers a message
    whose worker is still on it."""
    attempts = settings.job_max_attempts
    return max(3600, settings.task_time_limit * attempts + 60 * attempts)


def create_celery(settings: Settings, *, batch_publishing: bool = False) -> Celery:
    """The app both sides use. `batch_publishing` (the API's relay): kombu pipelines a batch of
    messages only when timed-out commands are not retried automatically (a replayed pipeline
    could duplicate a message); the relay retries a failed batch itself, and a duplicate
    message is harmless (a worker skips a job that is already claimed or finished)."""
    app = Celery("imagegate", set_as_current=False)
    app.conf.update(
        broker_url=settings.broker_url,
        broker_transport=_transport(settings.broker_url),
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,  # a worker outlives any Redis outage
        broker_transport_options={
            "visibility_timeout": visibility_timeout(settings),
            "socket_connect_timeout": settings.redis_timeout_seconds,
            "socket_timeout": max(5.0, settings.redis_timeout_seconds),
            "retry_on_timeout": not batch_publishing,
            "health_check_interval": 10,
        },
        # Publishing from the API must fail fast: the caller is refunded and told 503.
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # Honoured by the prefork pool; under the threads pool each generation is bounded by
        # its upstream timeout and the sweeper catches anything stuck past its deadline.
        task_soft_time_limit=settings.task_soft_time_limit,
        task_time_limit=settings.task_time_limit,
        **DELIVERY_POLICY,
    )
    return app


def webhook_kick(app: Celery) -> CeleryWebhookKick:
    """Asks the webhook consumer for a pass (the workers' and the API's kicks alike)."""
    return CeleryWebhookKick(app, task_name=DELIVER_WEBHOOKS_TASK, queue=WEBHOOK_QUEUE)


def _transport(broker_url: str) -> str | None:
    """Redis brokers go through our subclass of kombu's transport (one client per channel,
    not one per acknowledgement); any other URL picks its transport by scheme."""
    scheme = broker_url.partition("://")[0].lower()
    return TRANSPORT if scheme in ("redis", "rediss") else None


def worker_argv(*, pool: str, concurrency: int, queue: str, name: str, log_level: str) -> list[str]:
    """`worker_main` arguments of one of our consumers (generations or webhooks)."""
    return [
        "worker",
        f"--pool={pool}",
        f"--concurrency={concurrency}",
        f"--queues={queue}",
        f"--loglevel={log_level}",
        f"--hostname={name}-{os.getpid()}@%h",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
