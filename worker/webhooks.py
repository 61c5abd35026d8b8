"""The webhook consumer: its own process (`python -m worker --webhooks`, which `imagegate worker`
runs beside the generation worker), its own Celery queue (`webhooks`) and its own thread pool,
so a slow or hanging receiver never holds a generation slot.

A `deliver_webhooks` task makes one pass: job notes become deliveries (domain.webhook_jobs),
then due deliveries are attempted one claim at a time until none is due (a claim is leased for
60 s and one attempt lasts at most 10 s, so a claim never lapses while it is being attempted).
Passes are kicked by each finished generation, by the API (a redelivery, an operator alert) and
by every sweeper tick (which also brings retries and deliveries a crashed process left behind);
a kick older than a minute is dropped, the next tick sends another.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import msgspec
from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from prometheus_client import start_http_server

from adapters.clock import SystemClock
from adapters.prometheus_metrics import Metrics
from adapters.redis_jobs import RedisJobTransitions
from adapters.redis_webhook_events import RedisJobEventNotes
from adapters.redis_webhook_log import RedisWebhookLog
from adapters.webhook_http import HttpWebhookSender, SystemResolver, webhook_client
from domain.models import Job
from domain.ports import Clock
from domain.webhook_delivery import Attempt, Decision, RetryPolicy
from domain.webhook_jobs import record_job_events
from domain.webhook_log import Delivery
from domain.webhook_service import WebhookSecrets, deliver_due
from entrypoints.celery_app import DELIVER_WEBHOOKS_TASK, WEBHOOK_QUEUE, create_celery, webhook_kick
from entrypoints.factories import sync_redis
from entrypoints.http.schemas import job_out
from entrypoints.settings import Settings
from worker.startup import BuiltOnce, run_worker

log = logging.getLogger("imagegate.webhooks")

WEBHOOK_SLOTS = 8  # deliveries in flight per webhook process
MAX_ATTEMPTS_PER_PASS = 50


def render_job(job: Job) -> Mapping[str, Any]:
    """The job resource exactly as `GET /v1/jobs/{id}` renders it."""
    rendered: Mapping[str, Any] = msgspec.to_builtins(job_out(job))
    return rendered


def kick(app: Celery) -> None:
    """Ask for a delivery pass (best effort: the sweeper's next tick asks again)."""
    webhook_kick(app).kick_sync()


@dataclass(frozen=True)
class WebhookDeps:
    notes: RedisJobEventNotes
    log: RedisWebhookLog
    ledger: RedisJobTransitions
    sender: HttpWebhookSender
    operator_sender: HttpWebhookSender
    secrets: WebhookSecrets
    policy: RetryPolicy
    clock: Clock
    metrics: Metrics
    resources: ExitStack

    def observe(self, delivery: Delivery, attempt: Attempt, decision: Decision) -> None:
        self.metrics.webhook_attempt(decision.outcome.value, attempt.duration_ms / 1000)
        log.info(
            "webhook %s %s: %s",
            delivery.id,
            delivery.event,
            attempt.error or attempt.status_code,
            extra={"delivery_id": delivery.id, "outcome": decision.outcome.value},
        )

    def close(self) -> None:
        self.resources.close()

    def deliver_pass(self) -> int:
        record_job_events(
            self.notes, get_job=self.ledger.get, log=self.log, render=render_job, clock=self.clock
        )
        attempted = 0
        while attempted < MAX_ATTEMPTS_PER_PASS:
            done = deliver_due(
                self.log,
                sender=self.sender,
                operator_sender=self.operator_sender,
                secrets=self.secrets,
                clock=self.clock,
                policy=self.policy,
                limit=1,
                observe=self.observe,
            )
            if not done:
                break
            attempted += done
        return attempted


def build_webhook_deps(settings: Settings, *, metrics: Metrics | None = None) -> WebhookDeps:
    resources = ExitStack()
    client = sync_redis(settings)
    resources.callback(client.close)
    resolver = SystemResolver()
    sender = HttpWebhookSender(
        webhook_client(resolver, allow_private=settings.webhook_allow_private)
    )
    # The operator's own URL is exempt from the SSRF rule (DESIGN: it is theirs).
    operator_sender = HttpWebhookSender(webhook_client(resolver, allow_private=True))
    resources.callback(sender.close)
    resources.callback(operator_sender.close)
    ttl = timedelta(seconds=settings.job_ttl_seconds)
    return WebhookDeps(
        notes=RedisJobEventNotes(client),
        log=RedisWebhookLog(client, ttl=ttl),
        ledger=RedisJobTransitions(client, recheck_seconds=settings.queued_recheck_seconds),
        sender=sender,
        operator_sender=operator_sender,
        secrets=WebhookSecrets(settings.webhook_signing_key, settings.operator_webhook_secret),
        policy=RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_seconds=settings.webhook_retry_base_seconds,
        ),
        clock=SystemClock(),
        metrics=metrics or Metrics(),
        resources=resources,
    )


def build_webhook_worker(settings: Settings) -> Celery:
    app = create_celery(settings)
    metrics = Metrics()
    deps = BuiltOnce(lambda: build_webhook_deps(settings, metrics=metrics), WebhookDeps.close)

    @app.task(name=DELIVER_WEBHOOKS_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def deliver_webhooks() -> None:
        deps().deliver_pass()

    def ready(**_: object) -> None:
        deps()
        if settings.worker_metrics_port:  # the generation worker has the port itself
            start_http_server(
                settings.worker_metrics_port + 1, addr=settings.host, registry=metrics.registry
            )
        kick(app)  # whatever is due since the last process stopped

    def shut_down(**_: object) -> None:
        deps.close()

    worker_ready.connect(ready, weak=False)
    worker_shutdown.connect(shut_down, weak=False)
    return app


def main() -> None:
    """One webhook process: Celery on the `webhooks` queue with its own thread pool."""
    run_worker(
        build_webhook_worker,
        queue=WEBHOOK_QUEUE,
        name="imagegate-webhooks",
        pool="threads",
        concurrency=WEBHOOK_SLOTS,
    )
