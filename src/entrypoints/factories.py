"""Builders both composition roots use (the API's `entrypoints.bootstrap`, the worker's
`worker.bootstrap`): Redis clients and the adapters chosen by settings.

Builders of worker-only adapters take the worker's `ExitStack` and register what must be closed
at shutdown on it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import ExitStack

import redis
import redis.asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from adapters.fs_images import FilesystemImageStore
from adapters.redis_alert_dedupe import RedisAlertDedupe
from adapters.redis_ops_quota import QuotaLayout
from adapters.redis_pool import api_redis_client
from domain.operator_alerts import CreditAlerts
from domain.operator_service import OperatorService
from domain.operators import KeyAdmin
from domain.ports import Clock, CreditRefunder, ImageGenerator, ImageStore, QuotaProvider
from domain.webhook_api import AsyncWebhookLog, WebhookKick
from entrypoints.settings import ConfigError, Settings


def async_redis(settings: Settings) -> aioredis.Redis:
    """The API's shared client: a burst queues for a pooled connection (bounded wait, then
    503) instead of failing everyone's commands (adapters/redis_pool.py)."""
    return api_redis_client(settings.require_redis(), socket_timeout=settings.redis_timeout_seconds)


def sync_redis(settings: Settings) -> redis.Redis:
    return redis.Redis.from_url(
        settings.require_redis(),
        socket_connect_timeout=settings.redis_timeout_seconds,
        socket_timeout=max(5.0, settings.redis_timeout_seconds),
        health_check_interval=10,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), 3),
    )


def quota_layout(settings: Settings) -> QuotaLayout:
    """Where the local quota store keeps keys: one layout for every adapter that reads them."""
    return QuotaLayout(ledger_ttl_days=settings.ledger_ttl_days)


def _required(value: str | None, name: str) -> str:
    if not value:  # Settings.from_env refuses this already; a hand-built Settings may not
        raise ConfigError(f"{name} is required")
    return value


def build_quota(settings: Settings, client: aioredis.Redis, clock: Clock) -> QuotaProvider:
    if settings.quota_provider == "unkey":
        from adapters.unkey_quota import UnkeyQuotaProvider

        return UnkeyQuotaProvider(
            base_url=settings.unkey_base_url,
            root_key=_required(settings.unkey_root_key, "UNKEY_ROOT_KEY"),
            api_id=_required(settings.unkey_api_id, "UNKEY_API_ID"),
            timeout=settings.unkey_timeout_seconds,
            clock=clock,
            recoverable=settings.unkey_recoverable,
        )
    from adapters.redis_quota import RedisQuotaProvider

    return RedisQuotaProvider(client, clock, quota_layout(settings))


def build_refunder(settings: Settings, client: redis.Redis, resources: ExitStack) -> CreditRefunder:
    if settings.quota_provider == "unkey":
        from adapters.unkey_quota import UnkeyCreditRefunder

        refunder = UnkeyCreditRefunder(
            base_url=settings.unkey_base_url,
            root_key=_required(settings.unkey_root_key, "UNKEY_ROOT_KEY"),
            timeout=settings.unkey_timeout_seconds,
        )
        resources.callback(refunder.close)
        from adapters.clock import SystemClock
        from adapters.ledgered_quota import LedgeredCreditRefunder

        return LedgeredCreditRefunder(
            refunder, client, SystemClock(), ttl_days=settings.ledger_ttl_days
        )
    from adapters.redis_quota import RedisCreditRefunder

    return RedisCreditRefunder(client, quota_layout(settings))


def build_generator(
    settings: Settings, client: redis.Redis, resources: ExitStack
) -> ImageGenerator:
    if settings.image_generator == "openai":
        from adapters.openai_images import OpenAIImageGenerator

        openai = OpenAIImageGenerator(
            api_key=_required(settings.openai_api_key, "OPENAI_API_KEY"),
            model=settings.openai_image_model,
            timeout=settings.openai_timeout_seconds,
            base_url=settings.openai_base_url,
        )
        resources.callback(openai.close)
        if settings.openai_max_concurrency <= 0:
            return openai
        from adapters.upstream_limiter import LimitedImageGenerator, RedisConcurrencyLimiter

        limiter = RedisConcurrencyLimiter(
            client,
            name="openai",
            limit=settings.openai_max_concurrency,
            lease_seconds=settings.openai_timeout_seconds + 30,
        )
        return LimitedImageGenerator(openai, limiter)
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


def build_operators(
    settings: Settings, client: aioredis.Redis, clock: Clock
) -> tuple[OperatorService, Callable[[], Awaitable[None]]]:
    """The operator use cases on the configured provider, and what closes what they opened.
    The ledger is in Redis for both: on Unkey imagegate writes the entries it makes or sees."""
    from adapters.redis_ledger import RedisCreditLedger

    ledger = RedisCreditLedger(client, ttl_days=settings.ledger_ttl_days)
    admin: KeyAdmin
    if settings.quota_provider == "unkey":
        from adapters.unkey_http import AsyncUnkey
        from adapters.unkey_key_admin import UnkeyKeyAdmin

        connection = AsyncUnkey(
            base_url=settings.unkey_base_url,
            root_key=_required(settings.unkey_root_key, "UNKEY_ROOT_KEY"),
            timeout=settings.unkey_timeout_seconds,
        )
        admin = UnkeyKeyAdmin(
            connection,
            api_id=_required(settings.unkey_api_id, "UNKEY_API_ID"),
            recoverable=settings.unkey_recoverable,
        )
        service = OperatorService(admin, ledger, settings.catalog, clock, record_changes=True)
        return service, connection.aclose
    from adapters.redis_key_admin import RedisKeyAdmin

    admin = RedisKeyAdmin(client, clock, quota_layout(settings))
    service = OperatorService(admin, ledger, settings.catalog, clock, record_changes=False)
    return service, _nothing


async def _nothing() -> None:
    """Nothing to close: the Redis client is the caller's."""


def credit_alerts(
    settings: Settings,
    client: aioredis.Redis,
    log: AsyncWebhookLog,
    clock: Clock,
    kick: WebhookKick,
) -> CreditAlerts:
    """The operator's credit alerts: each key's own plan's `alerts` from the plans file (the
    charge names the key's plan); a plan without `alerts` fires none."""
    return CreditAlerts(
        catalog=settings.catalog,
        dedupe=RedisAlertDedupe(client),
        log=log,
        operator_url=settings.operator_webhook_url,
        clock=clock,
        kick=kick,
    )
