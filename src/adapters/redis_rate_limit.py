"""Fixed-window rate limits in Redis, checked and counted atomically across API processes."""

from __future__ import annotations

from dataclasses import dataclass

import redis.asyncio as aioredis

# KEYS: one counter per limit; ARGV: window (s), then each limit in KEYS order.
# Refused attempts count against nothing, so a flood from one address cannot use up the
# global budget.
_HIT = """
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    return {0, ttl, i}
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return {1, 0, 0}
"""


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int
    limit_index: int  # which limit refused (1-based), 0 when allowed


class RedisRateLimiter:
    def __init__(self, client: aioredis.Redis, *, prefix: str = "ig") -> None:
        self._prefix = prefix
        self._hit = client.register_script(_HIT)

    async def hit(self, name: str, limits: list[tuple[str, int]], window_seconds: int) -> Verdict:
        """Count one event against every `(bucket, limit)` pair, or none if any is full."""
        keys = [f"{self._prefix}:rl:{name}:{bucket}" for bucket, _ in limits]
        args = [window_seconds, *(limit for _, limit in limits)]
        allowed, retry_after, index = await self._hit(keys=keys, args=args)
        return Verdict(bool(allowed), max(1, int(retry_after)), int(index))
