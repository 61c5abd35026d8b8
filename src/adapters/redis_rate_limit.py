"""Fixed-window rate limits in Redis, checked and counted atomically across API processes
(rate_limit_hit.lua)."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

from adapters.redis_ops import AsyncRunner, Op


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int
    limit_index: int  # which limit refused (1-based), 0 when allowed


class RedisRateLimiter:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ig") -> None:
        self._prefix = prefix
        self._ops = AsyncRunner(client)

    async def hit(self, name: str, limits: list[tuple[str, int]], window_seconds: int) -> Verdict:
        """Count one event against every `(bucket, limit)` pair, or none if any is full."""
        keys = [f"{self._prefix}:rl:{name}:{bucket}" for bucket, _ in limits]
        args = [window_seconds, *(limit for _, limit in limits)]
        return await self._ops.run(Op("rate_limit_hit.lua", keys, args, _verdict))


def _verdict(reply: list[int]) -> Verdict:
    allowed, retry_after, index = reply
    return Verdict(bool(allowed), max(1, int(retry_after)), int(index))
