"""The worker's composition root: picks its adapters, binds its use cases once per process, and
runs Celery (`python -m worker`, which `imagegate worker` supervises)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import ExitStack
from datetime import timedelta

import redis
from celery import Celery
from celery.signals import worker_ready, worker_shutdown

from adapters.celery_dispatcher import CeleryDispatcher
from adapters.clock import SystemClock
from adapters.leases import ThreadLeaseKeeper
from adapters.metered_worker import (
    MeteredCreditRefunder,
    MeteredImageGenerator,
    MeteredJobTransitions,
)
from adapters.prometheus_metrics import Metrics, celery_queue_depth
from adapters.redis_jobs import RedisJobTransitions
from adapters.redis_queue_place import QueueKeys, publish_worker_capacity
from domain.generation import RunGeneration, WorkerPolicy
from domain.ports import Clock
from domain.sweeping import Sweep
from entrypoints.celery_app import GENERATE_TASK, QUEUE, create_celery
from entrypoints.factories import build_generator, build_image_store, build_refunder, sync_redis
from entrypoints.settings import Settings
from worker.deps import WorkerDeps
from worker.observability import bind_claimed, install_observability
from worker.startup import BuiltOnce, run_worker
from worker.sweeper import Sweeper
from worker.tasks import register_tasks
from worker.webhooks import kick

log = logging.getLogger("imagegate.worker")


def build_worker_deps(
    settings: Settings,
    celery: Celery,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> WorkerDeps:
    resources = ExitStack()
    client = sync_redis(settings)
    resources.callback(client.close)
    clock = clock or SystemClock()
    metrics = metrics or Metrics()
    raw_ledger = RedisJobTransitions(client, recheck_seconds=settings.queued_recheck_seconds)
    ledger = MeteredJobTransitions(raw_ledger, metrics)
    leases = ThreadLeaseKeeper(raw_ledger, clock, lease_seconds=settings.job_lease_seconds)
    resources.callback(leases.close)  # closed first: no renewals on a closed client
    provider = settings.quota_provider
    refunder = MeteredCreditRefunder(
        build_refunder(settings, client, resources), metrics, provider=provider
    )
    generator = MeteredImageGenerator(
        build_generator(settings, client, resources), metrics, generator=settings.image_generator
    )
    store = build_image_store(settings, max_connections=settings.worker_concurrency + 10)
    dispatcher = CeleryDispatcher(celery, task_name=GENERATE_TASK, queue=QUEUE)
    policy = WorkerPolicy(
        max_attempts=settings.job_max_attempts, lease_seconds=settings.job_lease_seconds
    )
    return WorkerDeps(
        run_generation=RunGeneration(
            ledger=ledger,
            generator=generator,
            store=store,
            refunder=refunder,
            leases=leases,
            dispatcher=dispatcher,
            clock=clock,
            policy=policy,
            on_claim=bind_claimed,
        ),
        sweep=Sweep(
            ledger=ledger,
            dispatcher=dispatcher,
            refunder=refunder,
            clock=clock,
            policy=policy,
            grace=timedelta(seconds=settings.sweep_grace_seconds),
            deadlines=raw_ledger,
        ),
        ledger=ledger,
        store=store,
        clock=clock,
        sweep_interval=settings.sweep_interval_seconds,
        image_ttl=timedelta(seconds=settings.job_ttl_seconds),
        resources=resources,
        kick_webhooks=lambda: kick(celery),
        heartbeat=_capacity_heartbeat(settings, client, clock, resources),
    )


def _capacity_heartbeat(
    settings: Settings, client: redis.Redis, clock: Clock, resources: ExitStack
) -> Callable[[], None]:
    """The sweeper's beat publishes this worker's concurrency for the queue ETA; it lapses
    when the worker dies (three missed beats), and is withdrawn at a clean shutdown."""
    worker_id = f"{socket.gethostname()}-{os.getpid()}"
    ttl = timedelta(seconds=max(15.0, 3 * settings.sweep_interval_seconds))
    workers = QueueKeys().workers
    resources.callback(lambda: client.hdel(workers, worker_id))

    def beat() -> None:
        publish_worker_capacity(
            client, worker_id, settings.worker_concurrency, now=clock.now(), ttl=ttl
        )

    return beat


def build_worker(settings: Settings) -> Celery:
    """The worker's Celery app; its dependencies are built on first use in each process
    (after a prefork fork, never before), once, and closed when the worker shuts down. The
    sweeper starts with the worker."""
    app = create_celery(settings)
    metrics = Metrics()
    metrics.watch_queue(celery_queue_depth(app, QUEUE), QUEUE)
    deps = BuiltOnce(lambda: build_worker_deps(settings, app, metrics=metrics), WorkerDeps.close)
    register_tasks(app, deps)
    install_observability(
        app,
        metrics,
        metrics_port=settings.worker_metrics_port,
        metrics_host=settings.host,
    )
    sweeper = Sweeper(deps)

    def start_sweeper(**_: object) -> None:
        sweeper.start()

    def shut_down(**_: object) -> None:
        sweeper.stop()
        deps.close()

    worker_ready.connect(start_sweeper, weak=False)
    worker_shutdown.connect(shut_down, weak=False)
    return app


def main() -> None:
    """One worker process: Celery with the configured pool, on the job queue."""
    run_worker(build_worker, queue=QUEUE, name="imagegate")
