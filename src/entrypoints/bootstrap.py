"""The API's composition root: picks the adapters, binds each use case once.

`build_api` builds the real adapters from the settings; `bind_api` binds the use cases and the
edge's helpers to whatever ports it is given, so tests hand it fakes (tests/http/).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from adapters.cached_jobs import CachingJobStore, CachingQueuePlaces, JobCaches
from adapters.celery_queue import CeleryPublisher, RelayedJobQueue
from adapters.key_cache import KeyCachingQuotaProvider
from adapters.metered import MeteredJobAdmission, MeteredJobStore, MeteredQuotaProvider
from adapters.prometheus_metrics import Metrics, celery_queue_depth
from adapters.redis_idempotency import RedisIdempotencyStore
from adapters.redis_job_changes import RedisJobChanges
from adapters.redis_jobs import RedisJobStore
from adapters.redis_pool import subscriber_client
from adapters.redis_queue_place import RedisQueuePlaces
from adapters.redis_rate_limit import RedisRateLimiter
from adapters.redis_webhook_log import AsyncRedisWebhookLog
from adapters.webhook_http import SystemResolver
from domain.admission import ChargeThenRecord
from domain.admission_doubts import DoubtfulAdmissions
from domain.api_jobs import CancelJob, GetJob, ListJobs, SubmitGeneration
from domain.api_keys import Authenticate, DescribeKey, MintKey, RevokeKey
from domain.deadline_enforcement import EnforceDeadlines
from domain.errors import TooManyWaiters
from domain.job_changes import JobChanges
from domain.job_progress import JobProgress
from domain.job_waiting import AwaitJob
from domain.key_limits import KeyConcurrencyLimiter
from domain.operator_alerts import CreditAlerts
from domain.operator_service import OperatorService
from domain.ports import (
    Clock,
    ImageStore,
    JobAdmission,
    JobQueue,
    JobStore,
    QueuePlaces,
    QuotaProvider,
)
from domain.quotes import QuoteJob
from domain.webhook_api import (
    AsyncWebhookLog,
    GetWebhookSecret,
    JobWebhooks,
    NoWebhookKick,
    NoWebhookLog,
    WebhookGate,
    WebhookKick,
)
from domain.webhook_service import WebhookSecrets
from domain.webhook_urls import HostResolver
from entrypoints.celery_app import GENERATE_TASK, QUEUE, create_celery, webhook_kick
from entrypoints.factories import (
    async_redis,
    build_image_store,
    build_operators,
    build_quota,
    credit_alerts,
    quota_layout,
)
from entrypoints.http.client_address import parse_networks
from entrypoints.http.guards import MintLimit, RateLimiter
from entrypoints.http.idempotency import IdempotencyStore
from entrypoints.http.ops import Probe
from entrypoints.http.periodic import Periodic
from entrypoints.http.route_uses import CallerCheck, JobReads, JobStreams, Submissions
from entrypoints.settings import Settings

Closer = Callable[[], Awaitable[None]]
DEADLINE_CHECK_SECONDS = 1.0
DOUBT_CHECK_SECONDS = 0.5


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
    quote_job: QuoteJob
    operators: OperatorService
    mint_limit: MintLimit
    idempotency: IdempotencyStore
    images: ImageStore
    webhook_secret: GetWebhookSecret
    job_webhooks: JobWebhooks
    await_job: AwaitJob  # `Prefer: wait` and the seed aliases
    changes: JobChanges  # the process's job change hub: every waiter's wake-ups
    callers: CallerCheck  # the key behind a request, and its concurrent-request slots
    job_progress: JobProgress  # queue position and ETA for the job resource
    # The busiest routes' uses, one value each (entrypoints/http/route_uses.py says why).
    submissions: Submissions
    job_reads: JobReads
    job_streams: JobStreams
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
    jobs: JobStore,
    queue: JobQueue,
    images: ImageStore,
    idempotency: IdempotencyStore,
    rate_limiter: RateLimiter,
    clock: Clock,
    operators: OperatorService,
    changes: JobChanges,
    places: QueuePlaces,
    admission: JobAdmission | None = None,
    closers: Sequence[Closer] = (),
    starters: Sequence[Closer] = (),
    webhook_log: AsyncWebhookLog | None = None,
    resolver: HostResolver | None = None,
    credit_alerts: CreditAlerts | None = None,
    kick: WebhookKick | None = None,
    doubts: DoubtfulAdmissions | None = None,
) -> ApiContainer:
    """Bind the use cases to these ports. Without an atomic `admission`, a submit charges
    through `quota`, then records through `jobs`."""
    catalog = settings.catalog
    models = frozenset({settings.image_model})
    secrets = webhook_secrets(settings)
    gate = None
    if secrets.master_key:
        gate = WebhookGate(
            secrets, resolver or SystemResolver(), allow_private=settings.webhook_allow_private
        )
    submit = SubmitGeneration(
        admission=admission or ChargeThenRecord(quota, jobs),
        quota=quota,
        jobs=jobs,
        queue=queue,
        clock=clock,
        job_ttl=timedelta(seconds=settings.job_ttl_seconds),
        default_model=settings.image_model,
        allowed_models=models,
        pricing=catalog.pricing,
        webhooks=gate,
        alerts=credit_alerts,
        doubts=doubts,
    )
    get_job, authenticate = GetJob(jobs), Authenticate(quota)
    await_job, job_progress = AwaitJob(jobs, changes), JobProgress(places, clock)
    callers = CallerCheck(
        authenticate,
        key_limiter=KeyConcurrencyLimiter(settings.max_requests_per_key),
        waiter_limiter=KeyConcurrencyLimiter(settings.max_waiters_per_key, TooManyWaiters),
    )
    return ApiContainer(
        submit=submit,
        get_job=get_job,
        list_jobs=ListJobs(jobs),
        cancel_job=CancelJob(jobs, quota, clock),
        mint_key=MintKey(quota, catalog.self_serve),
        authenticate=authenticate,
        describe_key=DescribeKey(quota),
        revoke_key=RevokeKey(quota),
        quote_job=QuoteJob(quota, catalog.pricing, models),
        operators=operators,
        mint_limit=MintLimit(
            rate_limiter,
            per_address=settings.mint_limit_per_address,
            overall=settings.mint_limit_global,
            trusted_proxies=parse_networks(settings.trusted_proxies),
        ),
        idempotency=idempotency,
        images=images,
        webhook_secret=GetWebhookSecret(secrets),
        job_webhooks=JobWebhooks(
            jobs, webhook_log or NoWebhookLog(), clock, kick or NoWebhookKick()
        ),
        await_job=await_job,
        changes=changes,
        callers=callers,
        job_progress=job_progress,
        submissions=Submissions(submit, await_job, job_progress, idempotency, authenticate),
        job_reads=JobReads(callers, get_job, await_job, job_progress),
        job_streams=JobStreams(callers, get_job, job_progress, changes),
        probes={"redis": jobs.ping, "broker": queue.ping},
        closers=closers,
        starters=starters,
    )


def webhook_secrets(settings: Settings) -> WebhookSecrets:
    return WebhookSecrets(settings.webhook_signing_key, settings.operator_webhook_secret)


def build_api(settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer:
    """The real adapters. Called on startup, inside the server's event loop."""
    client = async_redis(settings)
    celery = create_celery(settings, batch_publishing=True)
    metrics.watch_queue(celery_queue_depth(celery, QUEUE), QUEUE)
    provider = settings.quota_provider
    admission: JobAdmission | None = None
    admitted_is_queued: JobQueue | None = None
    raw_quota: QuotaProvider
    if provider == "local":  # credits and jobs in one Redis: charge and record in one step
        from adapters.redis_admission import AdmittedIsQueued, RedisJobAdmission
        from adapters.redis_quota import RedisQuotaProvider

        layout = quota_layout(settings)
        local = RedisQuotaProvider(client, clock, layout)
        # The broker in the same Redis: the admission pushes the task message too.
        same_redis = settings.broker_url == settings.redis_url
        raw_admission = RedisJobAdmission(
            client, clock, layout,
            publish_to=(GENERATE_TASK, QUEUE) if same_redis else None,
            recheck_seconds=settings.queued_recheck_seconds,
        )  # fmt: skip
        admitted_is_queued = AdmittedIsQueued(client) if same_redis else None
        admission = MeteredJobAdmission(raw_admission, metrics, provider=provider)
        raw_quota = local
    else:  # Unkey keeps the balances; imagegate writes the ledger entries it sees
        from adapters.ledgered_quota import LedgeredQuotaProvider
        from adapters.redis_ledger import RedisCreditLedger

        ledger = RedisCreditLedger(client, ttl_days=settings.ledger_ttl_days)
        raw_quota = LedgeredQuotaProvider(build_quota(settings, client, clock), ledger, clock)
    quota: QuotaProvider = MeteredQuotaProvider(raw_quota, metrics, provider=provider)
    if settings.key_cache_seconds > 0:
        quota = KeyCachingQuotaProvider(quota, ttl_seconds=settings.key_cache_seconds)
    jobs = RedisJobStore(client, recheck_seconds=settings.queued_recheck_seconds)
    webhook_log = AsyncRedisWebhookLog(client, ttl=timedelta(seconds=settings.job_ttl_seconds))
    publisher = CeleryPublisher(celery, task_name=GENERATE_TASK, queue=QUEUE)
    kick = webhook_kick(celery)  # redeliveries and operator alerts are sent at once
    relay = RelayedJobQueue(publisher, on_published=jobs.mark_enqueued)

    async def close_celery() -> None:
        celery.close()

    operators, close_operators = build_operators(settings, client, clock)
    # One subscription per process, on a client of its own: it keeps its connection for life.
    subscriber = subscriber_client(settings.require_redis())
    # Job reads (polls, woken waiters) through a cache the change notifications keep honest.
    caches = JobCaches()
    changes = RedisJobChanges(
        subscriber, max_waiters_per_key=settings.max_waiters_per_key, listeners=[caches]
    )
    cached_jobs = CachingJobStore(MeteredJobStore(jobs, metrics), caches.jobs)
    # Deadlines hold even while no worker is alive: each API process enforces them too.
    enforce = EnforceDeadlines(jobs, cached_jobs, quota, clock)
    deadline_watch = Periodic("deadline enforcement", enforce, every=DEADLINE_CHECK_SECONDS)
    doubts = DoubtfulAdmissions(cached_jobs, quota, clock)
    doubt_watch = Periodic("withdrawing doubtful admissions", doubts, every=DOUBT_CHECK_SECONDS)

    return bind_api(
        settings,
        quota=quota,
        jobs=cached_jobs,
        queue=admitted_is_queued or relay,
        images=build_image_store(settings),
        idempotency=RedisIdempotencyStore(client),
        rate_limiter=RedisRateLimiter(client),
        clock=clock,
        operators=operators,
        admission=admission,
        webhook_log=webhook_log,
        credit_alerts=credit_alerts(settings, client, webhook_log, clock, kick),
        kick=kick,
        changes=changes,
        places=CachingQueuePlaces(RedisQueuePlaces(client, clock), caches.places),
        doubts=doubts,
        starters=(changes.start, deadline_watch.start, doubt_watch.start),
        closers=(
            doubt_watch.aclose, deadline_watch.aclose, changes.aclose, relay.aclose, quota.aclose,
            close_operators, client.aclose, subscriber.aclose, close_celery,
        ),
    )  # fmt: skip
