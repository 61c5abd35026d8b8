"""A global cap on generations in flight across every worker (`OPENAI_MAX_CONCURRENCY`).

Slots are leases in one Redis sorted set (holder id → expiry in Redis server time, so worker
clocks do not matter). Acquiring is one Lua script (upstream_acquire.lua): drop expired
leases, then take a slot if fewer than `limit` are held. A worker killed mid-generation cannot
leak its slot: the lease lapses after `lease_seconds`, which must outlast one upstream call (the
OpenAI timeout plus a margin), or a slow call could lose its slot and let one more request through.

Jobs wait for a slot rather than fail: `slot()` polls until one frees (or `max_wait` passes, then
it raises the transient UpstreamRateLimited so the job is retried later).
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

import redis

from adapters.redis_ops import Op, SyncRunner
from domain.errors import UpstreamRateLimited, UpstreamUnavailable
from domain.models import GeneratedImage, ImageRequest
from domain.ports import ImageGenerator

log = logging.getLogger("imagegate.upstream_limiter")


class ConcurrencyLimiter(Protocol):
    def slot(self) -> AbstractContextManager[None]: ...


class RedisConcurrencyLimiter:
    """At most `limit` holders of `name` at once, across processes and hosts."""

    def __init__(
        self,
        redis: redis.Redis,
        *,
        name: str,
        limit: int,
        lease_seconds: float,
        poll_interval: float = 0.25,
        max_wait: float | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if lease_seconds <= 0 or poll_interval <= 0:
            raise ValueError("lease_seconds and poll_interval must be positive")
        self._redis = redis
        self._key = f"imagegate:upstream:{name}:leases"
        self._limit = limit
        self._lease_ms = max(1, int(lease_seconds * 1000))
        self._poll = poll_interval
        self._max_wait = max_wait
        self._ops = SyncRunner(redis)

    @property
    def key(self) -> str:
        return self._key

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one slot for the duration of the block; waits until one is free."""
        holder = uuid.uuid4().hex
        self._wait_for_slot(holder)
        try:
            yield
        finally:
            self._release(holder)

    def held(self) -> int:
        """Slots currently leased (expired leases included until the next acquire)."""
        return int(self._redis.zcard(self._key))

    def _wait_for_slot(self, holder: str) -> None:
        deadline = None if self._max_wait is None else time.monotonic() + self._max_wait
        waited = False
        while not self._try_acquire(holder):
            if deadline is not None and time.monotonic() >= deadline:
                raise UpstreamRateLimited(
                    "Too many generations in flight; the job will be retried.",
                    retry_after=self._poll,
                )
            if not waited:
                log.debug("all %s upstream slots of %s are taken; waiting", self._limit, self._key)
                waited = True
            # Jitter keeps many waiting threads from polling Redis in lockstep.
            time.sleep(self._poll * random.uniform(0.5, 1.5))

    def _try_acquire(self, holder: str) -> bool:
        try:
            args = [holder, self._limit, self._lease_ms]
            return self._ops.run(Op("upstream_acquire.lua", [self._key], args, bool))
        except redis.RedisError as exc:
            # Without the limiter's store we cannot honour the cap: retry the job later.
            log.warning("upstream limiter unavailable: %r", exc)
            raise UpstreamUnavailable("The generation limiter is unavailable.") from None

    def _release(self, holder: str) -> None:
        try:
            self._redis.zrem(self._key, holder)
        except redis.RedisError as exc:  # the lease lapses by itself
            log.warning("releasing an upstream slot failed (it will expire): %r", exc)


class LimitedImageGenerator:
    """Any ImageGenerator, behind a ConcurrencyLimiter."""

    def __init__(self, inner: ImageGenerator, limiter: ConcurrencyLimiter) -> None:
        self._inner = inner
        self._limiter = limiter

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        with self._limiter.slot():
            return self._inner.generate(request, user=user)
