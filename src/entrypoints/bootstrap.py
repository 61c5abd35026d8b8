"""The worker's composition root, and the builders of clients both processes share (the API's
composition root is entrypoints/api_container.py)."""

from __future__ import annotations

import threading
from datetime import timedelta

import redis
import redis.asyncio as aioredis
from celery import Celery
from celery.signals import worker_ready, worker_shutdown
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.retry import Retry

from adapters.celery_queue import CeleryPublisher
from adapters.clock import SystemClock
from adapters.fs_images import FilesystemImageStore
from adapters.leases import ThreadLeaseKeeper
from adapters.metered import (
    MeteredCreditRefunder,
    MeteredImageGenerator,
    MeteredJobLedger,
)
from adapters.prometheus_metrics import Metrics, celery_queue_depth
from adapters.redis_jobs import RedisJobLedger
from domain.generation import WorkerPolicy
from domain.ports import (
    Clock,
    CreditRefunder,
    ImageGenerator,
    ImageStore,
    QuotaProvider,
)
from entrypoints.settings import Settings
from worker.celery_app import GENERATE_TASK, QUEUE, create_celery
from worker.deps import WorkerDeps
from worker.observability import install_observability
from worker.sweeper import Sweeper
from worker.tasks import register_tasks


def _async_redis(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        settings.require_redis(),
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_timeout=settings.redis_timeout_seconds,
        health_check_interval=10,
        retry=AsyncRetry(NoBackoff(), 1),  # fail fast: the caller gets a 503, not a hang
        max_connections=256,
    )


def _sync_redis(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.require_redis(),
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_timeout=max(5.0, settings.redis_timeout_seconds),
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
    )


def build_quota(settings: Settings, client: aioredis.Redis, clock: Clock) -> QuotaProvider:
    if settings.quota_provider == "unkey":
        from adapters.unkey_quota import UnkeyQuotaProvider

        assert settings.unkey_root_key and settings.unkey_api_id
        return UnkeyQuotaProvider(
            base_url=settings.unkey_base_url,
            root_key=settings.unkey_root_key,
            api_id=settings.unkey_api_id,
            timeout=settings.unkey_timeout_seconds,
            clock=clock,
            recoverable=settings.unkey_recoverable,
        )
    from adapters.redis_quota import RedisQuotaProvider

    return RedisQuotaProvider(client, clock)


def build_refunder(settings: Settings, client: redis.Redis) -> CreditRefunder:
    if settings.quota_provider == "unkey":
        from adapters.unkey_quota import UnkeyCreditRefunder

        assert settings.unkey_root_key
        return UnkeyCreditRefunder(
            base_url=settings.unkey_base_url,
            root_key=settings.unkey_root_key,
            timeout=settings.unkey_timeout_seconds,
        )
    from adapters.redis_quota import RedisCreditRefunder

    return RedisCreditRefunder(client)


def build_generator(settings: Settings, client: redis.Redis) -> ImageGenerator:
    generator: ImageGenerator
    if settings.image_generator == "openai":
        from adapters.openai_images import OpenAIImageGenerator

        assert settings.openai_api_key
        generator = OpenAIImageGenerator(
            api_key=settings.openai_api_key,
            model=settings.openai_image_model,
            timeout=settings.openai_timeout_seconds,
            base_url=settings.openai_base_url,
        )
        if settings.openai_max_concurrency > 0:
            from adapters.upstream_limiter import LimitedImageGenerator, RedisConcurrencyLimiter

            limiter = RedisConcurrencyLimiter(
                client,
                name="openai",
                limit=settings.openai_max_concurrency,
                lease_seconds=settings.openai_timeout_seconds + 30,
            )
            generator = LimitedImageGenerator(generator, limiter)
        return generator
    from adapters.placeholder_images import PlaceholderImageGenerator

    return PlaceholderImageGenerator(delay_ms=settings.placeholder_delay_ms)


def build_image_store(settings: Settings, *, max_connections: int = 50) -> ImageStore:
    if settings.image_store_url:
        from adapters.s3_images import S3ImageStore

        return S3ImageStore.from_url(
            settings.image_store_url,
            endpoint_url=settings.s3_endpoint_url,
            max_connections=max_connections,
        )
    return FilesystemImageStore(settings.image_store_dir)


def build_worker_deps(
    settings: Settings,
    celery: Celery,
    *,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
) -> WorkerDeps:
    client = _sync_redis(settings)
    clock = clock or SystemClock()
    ledger = RedisJobLedger(client, recheck_seconds=settings.queued_recheck_seconds)
    metrics = metrics or Metrics()
    provider, generator = settings.quota_provider, settings.image_generator
    return WorkerDeps(
        ledger=MeteredJobLedger(ledger, metrics),
        generator=MeteredImageGenerator(
            build_generator(settings, client), metrics, generator=generator
        ),
        store=build_image_store(settings, max_connections=settings.worker_concurrency + 10),
        refunder=MeteredCreditRefunder(
            build_refunder(settings, client), metrics, provider=provider
        ),
        leases=ThreadLeaseKeeper(ledger, clock, lease_seconds=settings.job_lease_seconds),
        dispatcher=CeleryPublisher(celery, task_name=GENERATE_TASK, queue=QUEUE),
        clock=clock,
        policy=WorkerPolicy(
            max_attempts=settings.job_max_attempts, lease_seconds=settings.job_lease_seconds
        ),
        sweep_interval=settings.sweep_interval_seconds,
        sweep_grace=timedelta(seconds=settings.sweep_grace_seconds),
        image_ttl=timedelta(seconds=settings.job_ttl_seconds),
    )


def build_worker(settings: Settings) -> Celery:
    """The worker's Celery app; its dependencies are built on first use in each process
    (after a prefork fork, never before), once. The sweeper starts with the worker."""
    app = create_celery(settings)
    metrics = Metrics()
    metrics.watch_queue(celery_queue_depth(app, QUEUE), QUEUE)
    lock = threading.Lock()
    built: list[WorkerDeps] = []

    def deps() -> WorkerDeps:
        if not built:
            with lock:
                if not built:
                    built.append(build_worker_deps(settings, app, metrics=metrics))
        return built[0]

    register_tasks(app, deps, max_retries=settings.generation_max_retries)
    install_observability(
        app,
        metrics,
        request_id_of=lambda job_id: getattr(deps().ledger.get(job_id), "request_id", None),
        metrics_port=settings.worker_metrics_port,
        metrics_host=settings.host,
    )
    sweeper = Sweeper(deps)

    def start_sweeper(**_: object) -> None:
        sweeper.start()

    worker_ready.connect(start_sweeper, weak=False)
    worker_shutdown.connect(lambda **_: sweeper.stop(), weak=False)
    return app
