"""The API's composition root: picks its adapters and builds its clients (the worker's is
`worker.bootstrap`; the builders both use are in `entrypoints.factories`)."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta

import redis.asyncio as aioredis
from celery import Celery

from adapters.celery_queue import CeleryJobQueue, RelayedJobQueue
from adapters.clock import SystemClock
from adapters.key_cache import CachedKeyResolver
from adapters.metered import MeteredJobAdmission, MeteredQuotaProvider
from adapters.prometheus_metrics import Metrics, celery_queue_depth
from adapters.redis_idempotency import RedisIdempotencyStore
from adapters.redis_jobs import RedisJobRepository
from adapters.redis_rate_limit import RedisRateLimiter
from domain.ports import Clock, ImageStore, JobAdmission, QuotaProvider
from entrypoints.celery_app import GENERATE_TASK, QUEUE, create_celery
from entrypoints.factories import async_redis, build_image_store, build_quota
from entrypoints.settings import Settings


@dataclass
class ApiContainer:
    """Everything the HTTP app uses, built once per API process."""

    settings: Settings
    clock: Clock
    redis: aioredis.Redis
    quota: QuotaProvider
    jobs: RedisJobRepository
    queue: RelayedJobQueue
    images: ImageStore
    celery: Celery
    idempotency: RedisIdempotencyStore
    rate_limiter: RedisRateLimiter
    metrics: Metrics = field(default_factory=Metrics)
    # Charge and record in one step (local quota); None: charge, then record (any provider).
    admission: JobAdmission | None = None

    @property
    def job_ttl(self) -> timedelta:
        return timedelta(seconds=self.settings.job_ttl_seconds)

    @property
    def allowed_models(self) -> frozenset[str]:
        return frozenset({self.settings.image_model})

    async def aclose(self) -> None:
        await self.queue.aclose()
        await self.quota.aclose()
        await self.redis.aclose()
        self.celery.close()


class CrashBeforeEnqueue(RelayedJobQueue):
    """Fault injection: the API process dies after charging and recording, before the broker
    has the job — the window the outbox and the sweeper exist for."""

    async def enqueue(self, job_id: str) -> None:
        logging.getLogger("imagegate.fault").error("fault injected: dying before enqueue")
        os._exit(70)


def build_api(settings: Settings, *, clock: Clock | None = None) -> ApiContainer:
    clock = clock or SystemClock()
    client = async_redis(settings)
    celery = create_celery(settings, batch_publishing=True)
    metrics = Metrics()
    metrics.watch_queue(celery_queue_depth(celery, QUEUE), QUEUE)
    provider = settings.quota_provider
    raw_quota = build_quota(settings, client, clock)
    quota: QuotaProvider = MeteredQuotaProvider(raw_quota, metrics, provider=provider)
    if settings.key_cache_seconds > 0:
        quota = CachedKeyResolver(quota, ttl_seconds=settings.key_cache_seconds)
    admission = None
    if provider == "local":
        from adapters.redis_admission import RedisJobAdmission

        admission = MeteredJobAdmission(
            RedisJobAdmission(client, clock), metrics, provider=provider
        )
    jobs = RedisJobRepository(client, recheck_seconds=settings.queued_recheck_seconds)
    crash = settings.fault == "crash_before_enqueue"
    queue_type = CrashBeforeEnqueue if crash else RelayedJobQueue
    publisher = CeleryJobQueue(celery, task_name=GENERATE_TASK, queue=QUEUE)
    return ApiContainer(
        settings=settings,
        clock=clock,
        redis=client,
        quota=quota,
        jobs=jobs,
        queue=queue_type(publisher, on_published=jobs.mark_enqueued),
        images=build_image_store(settings),
        celery=celery,
        idempotency=RedisIdempotencyStore(client),
        rate_limiter=RedisRateLimiter(client),
        metrics=metrics,
        admission=admission,
    )
