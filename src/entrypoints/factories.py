"""Builders both composition roots use (the API's `entrypoints.bootstrap`, the worker's
`worker.bootstrap`): Redis clients and the adapters chosen by settings.

Builders of worker-only adapters take the worker's `ExitStack` and register what must be closed
at shutdown on it."""

from __future__ import annotations

from contextlib import ExitStack

import redis
import redis.asyncio as aioredis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from adapters.fs_images import FilesystemImageStore
from adapters.redis_pool import api_redis_client
from domain.ports import Clock, CreditRefunder, ImageGenerator, ImageStore, QuotaProvider
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

    return RedisQuotaProvider(client, clock)


def build_refunder(settings: Settings, client: redis.Redis, resources: ExitStack) -> CreditRefunder:
    if settings.quota_provider == "unkey":
        from adapters.unkey_quota import UnkeyCreditRefunder

        refunder = UnkeyCreditRefunder(
            base_url=settings.unkey_base_url,
            root_key=_required(settings.unkey_root_key, "UNKEY_ROOT_KEY"),
            timeout=settings.unkey_timeout_seconds,
        )
        resources.callback(refunder.close)
        return refunder
    from adapters.redis_quota import RedisCreditRefunder

    return RedisCreditRefunder(client)


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
