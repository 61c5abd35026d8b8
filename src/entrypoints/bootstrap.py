"""The API's composition root: picks the adapters, binds each use case once.

`build_api` builds the real adapters from the settings; `bind_api` binds the use cases and the
edge's helpers to whatever ports it is given, so tests hand it fakes (tests/http/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from adapters.celery_queue import CeleryPublisher, RelayedJobQueue
from adapters.key_cache import KeyCachingQuotaProvider
from adapters.metered import MeteredJobAdmission, MeteredJobRepository, MeteredQuotaProvider
from adapters.prometheus_metrics import Metrics, celery_queue_depth
from adapters.redis_idempotency import RedisIdempotencyStore
from adapters.redis_job_changes import RedisJobChanges
from adapters.redis_jobs import RedisJobRepository
from adapters.redis_pool import subscriber_client
from adapters.redis_queue_place import RedisQueuePlaces
from adapters.redis_rate_limit import RedisRateLimiter
from domain.admission import ChargeThenRecord
from domain.api_jobs import CancelJob, GetJob, ListJobs, SubmitGeneration
from domain.api_keys import Authenticate, DescribeKey, MintKey, RevokeKey
from domain.deadline_enforcement import EnforceDeadlines
from domain.job_changes import JobChanges
from domain.job_progress import JobProgress
from domain.job_waiting import AwaitJob
from domain.key_limits import KeyConcurrencyLimiter, TooManyWaiters
from domain.ports import (
    Clock,
    ImageStore,
    JobAdmission,
    JobQueue,
    JobRepository,
    QueuePlaces,
    QuotaProvider,
)
from entrypoints.celery_app import GENERATE_TASK, QUEUE, create_celery
from entrypoints.factories import async_redis, build_image_store, build_quota
from entrypoints.http.client_address import parse_networks
from entrypoints.http.guards import MintLimit, RateLimiter
from entrypoints.http.idempotency import IdempotencyStore
from entrypoints.http.ops import Probe
from entrypoints.http.periodic import Periodic
from entrypoints.settings import Settings

Closer = Callable[[], Awaitable[None]]
DEADLINE_CHECK_SECONDS = 1.0


@dataclass(frozen=True)
class ApiContainer:
    """What the HTTP handlers are given, by name (see entrypoints/http/app.py): each use case
    bound once per API process, and the few edge helpers they share."""

    submit: SubmitGeneration
    get_job: GetJob
    list_jobs: ListJobs
    cancel_job: CancelJob
    mint_key: MintKey
    authenticate: Authenticate
    describe_key: DescribeKey
    revoke_key: RevokeKey
    mint_limit: MintLimit
    idempotency: IdempotencyStore
    images: ImageStore
    await_job: AwaitJob  # `Prefer: wait` and the seed aliases
    changes: JobChanges  # the process's job change hub: every waiter's wake-ups
    key_limiter: KeyConcurrencyLimiter  # per-key cap of concurrent non-waiting requests
    waiter_limiter: KeyConcurrencyLimiter  # … and of waiting ones (SSE, `Prefer: wait`)
    job_progress: JobProgress  # queue position and ETA for the job resource
    probes: Mapping[str, Probe]  # readiness: name → a call that raises when it is down
    closers: Sequence[Closer] = field(default=())  # run in order on shutdown
    starters: Sequence[Closer] = field(default=())  # run in order on startup

    async def astart(self) -> None:
        for start in self.starters:
            await start()

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


class ContainerFactory(Protocol):
    def __call__(self, settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer: ...


def bind_api(
    settings: Settings,
    *,
    quota: QuotaProvider,
    jobs: JobRepository,
    queue: JobQueue,
    images: ImageStore,
    idempotency: IdempotencyStore,
    rate_limiter: RateLimiter,
    clock: Clock,
    changes: JobChanges,
    places: QueuePlaces,
    admission: JobAdmission | None = None,
    closers: Sequence[Closer] = (),
    starters: Sequence[Closer] = (),
) -> ApiContainer:
    """Bind the use cases to these ports. Without an atomic `admission`, a submit charges
    through `quota`, then records through `jobs`."""
    return ApiContainer(
        submit=SubmitGeneration(
            admission=admission or ChargeThenRecord(quota, jobs),
            quota=quota,
            jobs=jobs,
            queue=queue,
            clock=clock,
            job_ttl=timedelta(seconds=settings.job_ttl_seconds),
            default_model=settings.image_model,
            allowed_models=frozenset({settings.image_model}),
        ),
        get_job=GetJob(jobs),
        list_jobs=ListJobs(jobs),
        cancel_job=CancelJob(jobs, quota, clock),
        mint_key=MintKey(quota, settings.plan),
        authenticate=Authenticate(quota),
        describe_key=DescribeKey(quota),
        revoke_key=RevokeKey(quota),
        mint_limit=MintLimit(
            rate_limiter,
            per_address=settings.mint_limit_per_address,
            overall=settings.mint_limit_global,
            trusted_proxies=parse_networks(settings.trusted_proxies),
        ),
        idempotency=idempotency,
        images=images,
        await_job=AwaitJob(jobs, changes),
        changes=changes,
        key_limiter=KeyConcurrencyLimiter(settings.max_requests_per_key),
        waiter_limiter=KeyConcurrencyLimiter(settings.max_waiters_per_key, TooManyWaiters),
        job_progress=JobProgress(places, clock),
        probes={"redis": jobs.ping, "broker": queue.ping},
        closers=closers,
        starters=starters,
    )


def build_api(settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer:
    """The real adapters. Called on startup, inside the server's event loop."""
    client = async_redis(settings)
    celery = create_celery(settings, batch_publishing=True)
    metrics.watch_queue(celery_queue_depth(celery, QUEUE), QUEUE)
    provider = settings.quota_provider
    admission: JobAdmission | None = None
    raw_quota: QuotaProvider
    if provider == "local":  # credits and jobs in one Redis: charge and record in one step
        from adapters.redis_admission import RedisJobAdmission
        from adapters.redis_quota import RedisQuotaProvider

        local = RedisQuotaProvider(client, clock)
        admission = MeteredJobAdmission(
            RedisJobAdmission(client, clock), metrics, provider=provider
        )
        raw_quota = local
    else:
        raw_quota = build_quota(settings, client, clock)
    quota: QuotaProvider = MeteredQuotaProvider(raw_quota, metrics, provider=provider)
    if settings.key_cache_seconds > 0:
        quota = KeyCachingQuotaProvider(quota, ttl_seconds=settings.key_cache_seconds)
    jobs = RedisJobRepository(client, recheck_seconds=settings.queued_recheck_seconds)
    publisher = CeleryPublisher(celery, task_name=GENERATE_TASK, queue=QUEUE)
    relay = RelayedJobQueue(publisher, on_published=jobs.mark_enqueued)

    async def close_celery() -> None:
        celery.close()

    # One subscription per process, on a client of its own: it keeps its connection for life.
    subscriber = subscriber_client(settings.require_redis())
    changes = RedisJobChanges(subscriber, max_waiters_per_key=settings.max_waiters_per_key)
    # Deadlines hold even while no worker is alive: each API process enforces them too.
    metered_jobs = MeteredJobRepository(jobs, metrics)
    enforce = EnforceDeadlines(jobs, metered_jobs, quota, clock)
    deadline_watch = Periodic("deadline enforcement", enforce, every=DEADLINE_CHECK_SECONDS)

    return bind_api(
        settings,
        quota=quota,
        jobs=metered_jobs,
        queue=relay,
        images=build_image_store(settings),
        idempotency=RedisIdempotencyStore(client),
        rate_limiter=RedisRateLimiter(client),
        clock=clock,
        admission=admission,
        changes=changes,
        places=RedisQueuePlaces(client, clock),
        starters=(changes.start, deadline_watch.start),
        closers=(
            deadline_watch.aclose, changes.aclose, relay.aclose, quota.aclose, client.aclose,
            subscriber.aclose, close_celery,
        ),
    )  # fmt: skip
