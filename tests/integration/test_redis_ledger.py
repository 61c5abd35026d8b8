"""The credit ledger on a real Valkey: every balance change the local store makes has its entry,
written in the same script, so a key's entries sum to its balance; reads page newest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio

from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_ledger import RedisCreditLedger
from adapters.redis_quota import RedisQuotaProvider
from domain.errors import InvalidRequest
from domain.models import KeyStatus, Plan, Refill, RefillInterval
from domain.operators import CreditOperation, KeyPatch, KeySpec, LedgerEntry, LedgerKind
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio

DAILY = Plan(10, Refill(RefillInterval.DAILY, 10), "free")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


@pytest.fixture
def ledger(async_redis: redis.asyncio.Redis) -> RedisCreditLedger:
    return RedisCreditLedger(async_redis, ttl_days=90)


@pytest.fixture
def admin(async_redis: redis.asyncio.Redis, clock: FrozenClock) -> RedisKeyAdmin:
    return RedisKeyAdmin(async_redis, clock)


@pytest.fixture
def quota(async_redis: redis.asyncio.Redis, clock: FrozenClock) -> RedisQuotaProvider:
    return RedisQuotaProvider(async_redis, clock)


async def entries_sum(ledger: RedisCreditLedger, key_id: str) -> int:
    return sum(entry.credits for entry in await ledger.between(key_id, None, None))


async def test_every_balance_change_has_its_entry_so_the_sum_is_the_balance(
    admin: RedisKeyAdmin, quota: RedisQuotaProvider, ledger: RedisCreditLedger, clock: FrozenClock
):
    issued, view = await admin.create(KeySpec(DAILY))
    key_id = view.key_id
    await quota.charge(issued.key, 4)
    await quota.refund(key_id, 4, job_id="job_a")
    await quota.charge(issued.key, 9)
    assert (await quota.charge(issued.key, 5)).status is KeyStatus.USAGE_EXCEEDED
    clock.advance(days=1)  # the refill is applied by the next charge
    await quota.charge(issued.key, 2)
    await admin.update_credits(key_id, CreditOperation.INCREMENT, 30)
    await admin.update_credits(key_id, CreditOperation.SET, 12)
    await admin.update_credits(key_id, CreditOperation.DECREMENT, 50)
    await admin.update_credits(key_id, CreditOperation.SET, 7)
    await admin.update(key_id, KeyPatch(enabled=False))
    assert (await quota.charge(issued.key, 1)).status is KeyStatus.DISABLED
    await admin.update(key_id, KeyPatch(enabled=True))
    new = await admin.reroll(key_id, grace_seconds=60)
    assert new is not None

    entries, _ = await ledger.page(key_id, cursor=None, limit=100)
    kinds = [(e.kind.value, e.credits, e.balance, e.job_id) for e in reversed(entries)]
    assert kinds == [
        ("mint", 10, 10, None),
        ("charge", -4, 6, None),
        ("refund", 4, 10, "job_a"),
        ("charge", -9, 1, None),
        ("refill", 9, 10, None),
        ("charge", -2, 8, None),
        ("increment", 30, 38, None),
        ("set", -26, 12, None),
        ("decrement", -12, 0, None),
        ("set", 7, 7, None),
        ("reroll", -7, 0, None),
    ]
    assert await entries_sum(ledger, key_id) == 0
    assert await entries_sum(ledger, new.key_id) == 7 == (await admin.get(new.key_id)).remaining  # type: ignore[union-attr]
    await quota.charge(new.key, 3)
    assert await entries_sum(ledger, new.key_id) == 4 == (await admin.get(new.key_id)).remaining  # type: ignore[union-attr]


async def test_a_refund_to_an_unknown_key_writes_nothing(
    quota: RedisQuotaProvider, ledger: RedisCreditLedger, clock: FrozenClock
):
    await quota.refund("key_gone", 3, job_id="job_a")
    assert await ledger.between("key_gone", None, None) == []


async def test_a_jobs_refund_is_made_and_entered_once_however_often_it_is_retried(
    admin: RedisKeyAdmin, quota: RedisQuotaProvider, ledger: RedisCreditLedger
):
    issued, view = await admin.create(KeySpec(DAILY))
    await quota.charge(issued.key, 4)

    for _ in range(3):  # a retry after a lost reply, or a sweeper re-owing the refund
        await quota.refund(view.key_id, 4, job_id="job_a")

    entries = await ledger.between(view.key_id, None, None)
    assert [e.kind for e in entries].count(LedgerKind.REFUND) == 1
    assert (await admin.get(view.key_id)).remaining == 10 == await entries_sum(ledger, view.key_id)  # type: ignore[union-attr]


async def test_a_self_serve_mint_has_its_plan_its_mint_entry_and_a_place_in_listings(
    admin: RedisKeyAdmin, quota: RedisQuotaProvider, ledger: RedisCreditLedger
):
    issued = await quota.mint(DAILY)

    view = await admin.get(issued.key_id)
    assert view is not None and (view.plan, view.remaining) == ("free", 10)
    assert [(e.kind, e.credits) for e in await ledger.between(issued.key_id, None, None)] == [
        (LedgerKind.MINT, 10)
    ]
    listed, _ = await admin.list(plan="free", external_id=None, cursor=None, limit=10)
    assert [v.key_id for v in listed] == [issued.key_id]


async def test_pages_go_newest_first_without_repeats_while_entries_are_added(
    ledger: RedisCreditLedger, clock: FrozenClock
):
    for i in range(25):
        clock.advance(seconds=1)
        await ledger.append("key_a", LedgerEntry(clock.now(), LedgerKind.CHARGE, -1, 100 - i))

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await ledger.page("key_a", cursor=cursor, limit=10)
        seen += [entry.balance for entry in page]
        pages += 1
        clock.advance(seconds=1)  # newer entries land before the first page, not in later ones
        await ledger.append("key_a", LedgerEntry(clock.now(), LedgerKind.REFUND, 1, 0))
        if cursor is None:
            break

    assert pages == 3
    assert seen == list(range(76, 101))


async def test_entries_stay_in_order_when_a_clock_runs_behind(
    ledger: RedisCreditLedger, clock: FrozenClock
):
    late = clock.now()
    await ledger.append("key_a", LedgerEntry(late, LedgerKind.MINT, 10, 10))
    behind = late - timedelta(minutes=5)
    await ledger.append("key_a", LedgerEntry(behind, LedgerKind.CHARGE, -1, 9))

    page, _ = await ledger.page("key_a", cursor=None, limit=10)

    assert [(e.kind, e.at) for e in page] == [(LedgerKind.CHARGE, behind), (LedgerKind.MINT, late)]


async def test_between_selects_by_time(ledger: RedisCreditLedger, clock: FrozenClock):
    start = clock.now()
    for hours in (0, 1, 2, 3):
        entry = LedgerEntry(start + timedelta(hours=hours), LedgerKind.CHARGE, -hours)
        await ledger.append("key_a", entry)

    chosen = await ledger.between("key_a", start + timedelta(hours=1), start + timedelta(hours=3))

    assert [e.credits for e in chosen] == [-1, -2]


async def test_entries_older_than_the_retention_are_dropped(
    async_redis: redis.asyncio.Redis, clock: FrozenClock
):
    ledger = RedisCreditLedger(async_redis, ttl_days=2)
    await ledger.append("key_a", LedgerEntry(clock.now(), LedgerKind.MINT, 10, 10))
    clock.advance(days=3)
    await ledger.append("key_a", LedgerEntry(clock.now(), LedgerKind.CHARGE, -1, 9))

    assert [e.kind for e in await ledger.between("key_a", None, None)] == [LedgerKind.CHARGE]
    ttl = await async_redis.ttl(ledger.stream("key_a"))
    assert 0 < ttl <= 2 * 86_400


async def test_a_cursor_not_given_by_the_api_is_an_invalid_request(ledger: RedisCreditLedger):
    with pytest.raises(InvalidRequest) as caught:
        await ledger.page("key_a", cursor="'; drop", limit=10)
    assert caught.value.field == "cursor"
