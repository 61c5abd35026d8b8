"""The contract suites' adapters: each `quota` test runs on RedisQuotaProvider over a real Valkey
and on UnkeyQuotaProvider over the fake Unkey (a test module using it registers
`pytest_plugins = ["tests.fakes.unkey_fixtures"]`), both driven by one `clock`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import redis.asyncio

from adapters.redis_quota import RedisQuotaProvider
from adapters.unkey_quota import UnkeyQuotaProvider
from domain.ports import QuotaProvider
from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_server import FakeUnkeyServer


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


@pytest.fixture(params=["redis", "unkey"])
async def quota(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[QuotaProvider]:
    provider: QuotaProvider
    if request.param == "redis":
        client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
        provider = RedisQuotaProvider(client, clock)
        yield provider
        await provider.aclose()
        await client.aclose()
    else:
        fake: FakeUnkeyServer = request.getfixturevalue("fake_unkey")
        fake.set_clock(clock)
        provider = UnkeyQuotaProvider(
            base_url=fake.base_url,
            root_key=fake.root_key,
            api_id=fake.api_id,
            timeout=5.0,
            clock=clock,
        )
        yield provider
        await provider.aclose()
