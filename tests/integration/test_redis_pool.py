"""The API's Redis pool queues commands for a connection instead of failing the one past the
cap, and a wait past its timeout is a `PoolTimeout` (a ConnectionError: the edge's 503)."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
import redis.exceptions

from adapters.redis_pool import PoolTimeout, api_redis_client

pytestmark = pytest.mark.anyio


async def test_five_hundred_concurrent_commands_queue_on_a_pool_of_32(redis_url: str) -> None:
    client = api_redis_client(redis_url, max_connections=32, pool_timeout=30)
    try:
        # BLPOP holds its connection for a moment, so the commands really overlap.
        replies = await asyncio.gather(
            *(client.blpop([f"absent:{n}"], timeout=0.05) for n in range(500))
        )
        assert replies == [None] * 500
        pool = client.connection_pool
        assert len(pool._in_use_connections) + len(pool._available_connections) <= 32
    finally:
        await client.aclose()


async def test_a_wait_past_the_pool_timeout_is_a_pool_timeout(redis_url: str) -> None:
    client = api_redis_client(redis_url, max_connections=1, pool_timeout=0.2, socket_timeout=5)
    try:
        holder = asyncio.create_task(client.blpop(["absent"], timeout=1))
        await asyncio.sleep(0)  # let the holder take the only connection
        with pytest.raises(PoolTimeout) as refused:
            await client.ping()
        assert isinstance(refused.value, redis.exceptions.ConnectionError)  # mapped to 503
        assert "within 0.2 s" in str(refused.value)
        assert await holder is None
        assert await client.ping() is True  # the pool recovers once the connection is back
    finally:
        await client.aclose()


async def test_a_dead_server_is_a_connection_error_not_a_pool_timeout() -> None:
    client = api_redis_client("redis://127.0.0.1:1/0", pool_timeout=1)
    try:
        with pytest.raises(redis.exceptions.ConnectionError) as refused:
            await client.ping()
        assert not isinstance(refused.value, PoolTimeout)
    finally:
        await client.aclose()


async def test_the_default_pool_fails_the_same_burst(redis_url: str) -> None:
    """Why the queueing pool exists: redis-py's default pool refuses the 33rd command."""

    client = aioredis.Redis.from_url(redis_url, max_connections=32)
    try:
        with pytest.raises(redis.exceptions.MaxConnectionsError):
            await asyncio.gather(*(client.blpop([f"absent:{n}"], timeout=0.05) for n in range(500)))
    finally:
        await client.aclose()
