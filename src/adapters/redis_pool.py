"""Redis clients for the API process: a pool that queues, and the subscriber's own client.

redis-py's default async pool fails the command that finds every connection busy
(`MaxConnectionsError`): a burst from one client then turns everyone's requests into 503s.
A `BlockingConnectionPool` makes that command wait its turn instead, for at most
`pool_timeout` seconds; past that it raises `PoolTimeout`. `PoolTimeout` is a
`redis.exceptions.ConnectionError`, so the adapters' `store_errors` (adapters/redis_ops.py)
turn it into the domain's StoreUnavailable like any outage (a 503 with `Retry-After`); its own
type lets logs and metrics tell "we are saturated" from "Redis is down".
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

DEFAULT_MAX_CONNECTIONS = 64
DEFAULT_POOL_TIMEOUT_SECONDS = 2.0


class PoolTimeout(RedisConnectionError):
    """No pooled Redis connection came free within the pool timeout."""


class QueueingConnectionPool(aioredis.BlockingConnectionPool):
    """A blocking pool whose timeout is its own exception type."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().get_connection()  # type: ignore[no-untyped-call]
        except RedisConnectionError as exc:
            # The parent raises a plain ConnectionError from a TimeoutError when it waited in
            # vain; a ConnectionError from anything else is a real connect failure.
            if isinstance(exc.__cause__, asyncio.TimeoutError):
                raise PoolTimeout(
                    f"no Redis connection free within {self.timeout} s "
                    f"({self.max_connections} in use)"
                ) from exc
            raise


def api_redis_client(
    url: str,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS,
    socket_timeout: float = 2.0,
) -> aioredis.Redis:
    """The API's shared client: commands queue for a connection rather than fail."""
    pool = QueueingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_connect_timeout=socket_timeout,
        socket_timeout=socket_timeout,
        health_check_interval=10,
        retry=Retry(NoBackoff(), 1),  # fail fast: the caller gets a 503, not a hang
    )
    return aioredis.Redis.from_pool(pool)


def subscriber_client(url: str, *, socket_timeout: float = 2.0) -> aioredis.Redis:
    """The job change hub's client: one connection, no silent retries (the hub reconnects
    itself, so it knows when to wake its waiters). Its reads are bounded per call by the hub,
    so `socket_timeout` only bounds connecting and subscribing."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=socket_timeout,
        socket_timeout=socket_timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=2,
    )
