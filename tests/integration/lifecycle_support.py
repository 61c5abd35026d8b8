"""Helpers for the job lifecycle tests: a hub on the test Valkey, and polls with deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis

from adapters.redis_job_changes import RedisJobChanges
from adapters.redis_pool import subscriber_client


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll until `condition()` holds; fail the test if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


@asynccontextmanager
async def running_hub(url: str, **options: Any) -> AsyncIterator[RedisJobChanges]:
    client = subscriber_client(url)
    hub = RedisJobChanges(client, **options)
    await hub.start()
    assert hub.subscribed
    try:
        yield hub
    finally:
        await hub.aclose()
        await client.aclose()


def commands_processed(client: redis.Redis) -> int:
    return int(client.info("stats")["total_commands_processed"])


def pubsub_clients(client: redis.Redis) -> int:
    return len(client.client_list(_type="pubsub"))
