"""Queue position and the numbers behind the ETA, in Redis.

Three structures, all under the job prefix:

- `<prefix>:queue` — ZSET of queued job ids scored by `<prefix>:queue:seq`, a counter taken
  at enqueue (`queue_enter.lua`), so ZRANK is the position (0 = next). The job scripts keep it
  in the same atomic step as the status: enter on submit and on every return to `queued`
  (retry, reclaim: the back of the line), leave (ZREM) on claim, cancel, abort and fail.
- `<prefix>:run_seconds` — LIST of the most recent run durations (seconds, newest first),
  capped at `RECENT_RUNS` by LTRIM; the worker's succeed step pushes one.
- `<prefix>:workers` — HASH worker id → `<concurrency>:<expires_ms>`, refreshed by each
  worker's heartbeat; `queue_capacity.lua` sums the live ones and drops the dead.

The estimate's global part (recent runs, capacity) is cached for `stats_ttl` seconds, so a
thousand SSE streams re-reading their position on a queue move cost one ZRANK each.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import redis
import redis.asyncio as aioredis

from adapters.redis_ops import load_script, store_errors
from domain.ports import Clock
from domain.queue_eta import QueuePlace, QueueStats, queue_place

RECENT_RUNS = 50


QUEUE_ENTER_LUA = load_script("queue_enter.lua")
QUEUE_CAPACITY_LUA = load_script("queue_capacity.lua")
QUEUE_PRUNE_LUA = load_script("queue_prune.lua")


class QueueKeys:
    def __init__(self, prefix: str = "ig") -> None:
        self.job_prefix = f"{prefix}:job:"
        self.queue = f"{prefix}:queue"
        self.seq = f"{prefix}:queue:seq"
        self.run_seconds = f"{prefix}:run_seconds"
        self.workers = f"{prefix}:workers"


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def worker_entry(concurrency: int, expires_at: datetime) -> str:
    return f"{concurrency}:{_ms(expires_at)}"


def publish_worker_capacity(
    client: redis.Redis,
    worker_id: str,
    concurrency: int,
    *,
    now: datetime,
    ttl: timedelta,
    prefix: str = "ig",
) -> None:
    """The worker's heartbeat (sync, like the worker): call it more often than `ttl`."""
    client.hset(QueueKeys(prefix).workers, worker_id, worker_entry(concurrency, now + ttl))


class RedisQueuePlaces:
    """The API's view: where a queued job stands, and the stats its ETA comes from."""

    def __init__(
        self,
        client: aioredis.Redis,
        clock: Clock,
        *,
        prefix: str = "ig",
        stats_ttl: float = 1.0,
    ) -> None:
        self._redis = client
        self._clock = clock
        self.keys = QueueKeys(prefix)
        self._enter = client.register_script(QUEUE_ENTER_LUA)
        self._capacity = client.register_script(QUEUE_CAPACITY_LUA)
        self._prune = client.register_script(QUEUE_PRUNE_LUA)
        self._stats_ttl = stats_ttl
        self._cached: tuple[float, QueueStats] | None = None

    async def enter(self, job_id: str) -> int:
        """Join the back of the queue (what submit's Lua does); the job's sequence number."""
        with store_errors():
            return int(await self._enter(keys=[self.keys.queue, self.keys.seq], args=[job_id]))

    async def leave(self, job_id: str) -> bool:
        """Leave the queue (what claim, cancel and abort do); False if it was not queued."""
        with store_errors():
            return bool(await self._redis.zrem(self.keys.queue, job_id))

    async def position(self, job_id: str) -> int | None:
        with store_errors():
            rank = await self._redis.zrank(self.keys.queue, job_id)  # no WITHSCORE: an int
        return None if rank is None else int(rank)  # type: ignore[arg-type]

    async def length(self) -> int:
        with store_errors():
            return int(await self._redis.zcard(self.keys.queue))

    async def stats(self) -> QueueStats:
        loop_now = asyncio.get_running_loop().time()
        if self._cached is not None and loop_now - self._cached[0] < self._stats_ttl:
            return self._cached[1]
        now_ms = _ms(self._clock.now())
        with store_errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.lrange(self.keys.run_seconds, 0, RECENT_RUNS - 1)
                await self._capacity(keys=[self.keys.workers], args=[now_ms], client=pipe)
                durations, capacity = await pipe.execute()
        stats = QueueStats(tuple(float(d) for d in durations), int(capacity))
        self._cached = (loop_now, stats)
        return stats

    async def place(self, job_id: str) -> QueuePlace | None:
        """Position and ETA of a queued job; None when it is not in the queue."""
        position = await self.position(job_id)
        if position is None:
            return None
        return queue_place(position, await self.stats())

    async def prune(self, limit: int = 1000) -> int:
        """Drop the oldest `limit` entries' dead ones (the sweeper's chore)."""
        with store_errors():
            args: list[str | int] = [self.keys.job_prefix, limit]
            return int(await self._prune(keys=[self.keys.queue], args=args))
