"""What is particular to the local store's KeyAdmin (the shared behaviour is in
tests/contract/test_key_admin_local.py): keys minted before issue 12, cursors, the raw key."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
import redis.asyncio

from adapters.quota_keys import key_digest
from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_quota import RedisQuotaProvider
from domain.errors import InvalidRequest
from domain.models import Plan, RefillInterval
from domain.operators import CreditOperation, KeyPatch, KeySpec
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio

PLAN = Plan.build(10, RefillInterval.DAILY, 10)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


@pytest.fixture
def admin(async_redis: redis.asyncio.Redis, clock: FrozenClock) -> RedisKeyAdmin:
    return RedisKeyAdmin(async_redis, clock)


async def test_a_key_minted_by_the_quota_provider_can_be_managed(
    async_redis: redis.asyncio.Redis, admin: RedisKeyAdmin, clock: FrozenClock
):
    quota = RedisQuotaProvider(async_redis, clock)
    issued = await quota.mint(PLAN)

    view = await admin.get(issued.key_id)
    assert view is not None
    assert (view.plan, view.enabled, view.remaining, view.meta) == ("default", True, 10, {})
    await admin.update_credits(issued.key_id, CreditOperation.INCREMENT, 5)
    assert (await quota.charge(issued.key, 0)).remaining == 15
    patched = await admin.update(issued.key_id, KeyPatch(name="old"))
    assert patched is not None and patched.name == "old"
    new = await admin.reroll(issued.key_id, 0)
    assert new is not None and (await quota.charge(new.key, 1)).remaining == 14
    page, _ = await admin.list(plan="default", external_id=None, cursor=None, limit=10)
    assert [v.key_id for v in page] == [new.key_id]


async def test_nothing_stored_shows_the_raw_key(admin: RedisKeyAdmin, sync_redis: redis.Redis):
    issued, _ = await admin.create(KeySpec(PLAN, name="n", meta={"m": 1}))
    rerolled = await admin.reroll(issued.key_id, 60)
    assert rerolled is not None

    stored = []
    for name in sync_redis.scan_iter():
        kind = sync_redis.type(name)
        if kind == b"hash":
            stored.append(repr(sync_redis.hgetall(name)))
        elif kind == b"stream":
            stored.append(repr(sync_redis.xrange(name)))
        elif kind == b"zset":
            stored.append(repr(sync_redis.zrange(name, 0, -1)))
        else:
            stored.append(repr(sync_redis.get(name)))
        stored.append(repr(name))
    dump = "\n".join(stored)

    assert issued.key not in dump and rerolled.key not in dump
    assert key_digest(issued.key) in dump and key_digest(rerolled.key) in dump


async def test_a_cursor_not_given_by_the_api_is_an_invalid_request(admin: RedisKeyAdmin):
    with pytest.raises(InvalidRequest) as caught:
        await admin.list(plan=None, external_id=None, cursor="abc", limit=10)
    assert caught.value.field == "cursor"
