"""The KeyAdmin contract on the local store (RedisKeyAdmin on a real Valkey): the behaviours
tests/contract/test_key_admin.py checks on Unkey, to be folded into one parameterized suite.
Keys are verified as the provider does, with the key checks (adapters/redis_quota_ledger.py);
one injected clock drives expiry and grace: no sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio

from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_ledger import RedisCreditLedger
from adapters.redis_quota import RedisQuotaProvider
from adapters.redis_quota_ledger import LEDGERED_CHARGE_LUA, LEDGERED_REFUND_LUA, LedgeredQuota
from domain.models import Charge, KeyStatus, Plan, Refill, RefillInterval
from domain.operators import CreditOperation, KeyPatch, KeySpec
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio

PRO = Plan(500, Refill(RefillInterval.MONTHLY, 500, 1), "pro")
FREE = Plan(10, Refill(RefillInterval.DAILY, 10), "free")
ONCE = Plan(5, None, "once")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    client = redis.asyncio.Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def key_admin(client: redis.asyncio.Redis, clock: FrozenClock) -> RedisKeyAdmin:
    return RedisKeyAdmin(client, clock)


@pytest.fixture
def ledger(client: redis.asyncio.Redis) -> RedisCreditLedger:
    return RedisCreditLedger(client)


class Verifier:
    """Verify-and-charge as a request would, on the records KeyAdmin writes."""

    def __init__(self, client: redis.asyncio.Redis, clock: FrozenClock) -> None:
        self.quota = LedgeredQuota(
            RedisQuotaProvider(client, clock),
            client.register_script(LEDGERED_CHARGE_LUA),
            client.register_script(LEDGERED_REFUND_LUA),
        )
        self._clock = clock

    async def __call__(self, key: str, cost: int = 0) -> Charge:
        return await self.quota.charge(key, cost, self._clock.now())


@pytest.fixture
def verify(client: redis.asyncio.Redis, clock: FrozenClock) -> Verifier:
    return Verifier(client, clock)


async def ledger_sum(ledger: RedisCreditLedger, key_id: str) -> int:
    return sum(entry.credits for entry in await ledger.between(key_id, None, None))


async def test_a_key_is_minted_on_its_plan(key_admin: RedisKeyAdmin, verify: Verifier):
    issued, view = await key_admin.create(
        KeySpec(PRO, name="Acme", external_id="cus_1", meta={"tier": 2})
    )

    assert issued.credits == 500 and issued.key_id == view.key_id
    assert (view.plan, view.name, view.external_id, view.meta) == (
        "pro",
        "Acme",
        "cus_1",
        {"tier": 2},
    )
    assert view.enabled and view.expires_at is None and view.remaining == 500
    assert view.refill == PRO.refill and issued.key.startswith(view.start)
    assert await key_admin.get(view.key_id) == view
    assert (await verify(issued.key, 3)) == Charge(KeyStatus.VALID, view.key_id, 497, PRO.refill)


async def test_starting_credits_override_the_plans(key_admin: RedisKeyAdmin):
    issued, view = await key_admin.create(KeySpec(PRO, credits=42))
    assert issued.credits == 42 and view.remaining == 42


async def test_a_disabled_key_is_refused_without_charge_until_enabled(
    key_admin: RedisKeyAdmin, verify: Verifier
):
    issued, view = await key_admin.create(KeySpec(FREE))

    disabled = await key_admin.update(view.key_id, KeyPatch(enabled=False))
    assert disabled is not None and not disabled.enabled
    refused = await verify(issued.key, 1)
    assert refused.status is KeyStatus.DISABLED and refused.remaining == 10

    await key_admin.update(view.key_id, KeyPatch(enabled=True))
    assert (await verify(issued.key, 1)).status is KeyStatus.VALID
    assert (await key_admin.get(view.key_id)).remaining == 9  # type: ignore[union-attr]


async def test_an_expired_key_is_refused_and_clearing_expiry_revives_it(
    key_admin: RedisKeyAdmin, verify: Verifier, clock: FrozenClock
):
    ends = clock.now() + timedelta(hours=1)
    issued, view = await key_admin.create(KeySpec(FREE, expires_at=ends))
    assert view.expires_at == ends
    assert (await verify(issued.key, 1)).status is KeyStatus.VALID

    clock.advance(hours=1)
    assert (await verify(issued.key, 1)).status is KeyStatus.EXPIRED
    # Disabled is checked before expired, as Unkey does.
    await key_admin.update(view.key_id, KeyPatch(enabled=False))
    assert (await verify(issued.key)).status is KeyStatus.DISABLED

    cleared = await key_admin.update(view.key_id, KeyPatch(enabled=True, expires_at=None))
    assert cleared is not None and cleared.expires_at is None
    assert (await verify(issued.key, 1)) == Charge(KeyStatus.VALID, view.key_id, 8, FREE.refill)


async def test_credits_set_increment_and_decrement_clamped_at_zero(
    key_admin: RedisKeyAdmin, verify: Verifier, ledger: RedisCreditLedger
):
    issued, view = await key_admin.create(KeySpec(ONCE))
    key_id = view.key_id

    changes = [
        await key_admin.update_credits(key_id, CreditOperation.SET, 30),
        await key_admin.update_credits(key_id, CreditOperation.INCREMENT, 5),
        await key_admin.update_credits(key_id, CreditOperation.DECREMENT, 12),
        await key_admin.update_credits(key_id, CreditOperation.DECREMENT, 100),
    ]

    assert [(c.before, c.after) for c in changes if c] == [(5, 30), (30, 35), (35, 23), (23, 0)]
    assert (await verify(issued.key)).remaining == 0
    assert [e.credits for e in (await ledger.page(key_id, cursor=None, limit=10))[0]] == [
        -23,
        -12,
        5,
        25,
        5,
    ]
    assert await ledger_sum(ledger, key_id) == 0


async def test_a_patch_changes_settings_and_a_plan_change_keeps_the_balance(
    key_admin: RedisKeyAdmin, verify: Verifier
):
    issued, view = await key_admin.create(KeySpec(FREE, name="trial", meta={"a": 1}))
    await verify(issued.key, 4)

    patched = await key_admin.update(
        view.key_id, KeyPatch(plan=PRO, name="customer", meta={"b": [1, 2]})
    )

    assert patched is not None
    assert (patched.plan, patched.name, patched.meta) == ("pro", "customer", {"b": [1, 2]})
    assert patched.remaining == 6 and patched.refill == PRO.refill
    assert (await verify(issued.key, 1)) == Charge(KeyStatus.VALID, view.key_id, 5, PRO.refill)
    untouched = await key_admin.update(view.key_id, KeyPatch())
    assert untouched == await key_admin.get(view.key_id) and untouched.name == "customer"  # type: ignore[union-attr]


async def test_reroll_with_grace_moves_the_balance_and_the_old_key_stops_after_it(
    key_admin: RedisKeyAdmin, verify: Verifier, ledger: RedisCreditLedger, clock: FrozenClock
):
    old, view = await key_admin.create(KeySpec(PRO, name="Acme", external_id="cus_1"))
    await key_admin.update_credits(view.key_id, CreditOperation.DECREMENT, 100)

    new = await key_admin.reroll(view.key_id, grace_seconds=3600)

    assert new is not None and new.key_id != view.key_id and new.key != old.key
    assert new.credits == 400
    new_view = await key_admin.get(new.key_id)
    assert new_view is not None
    assert (new_view.plan, new_view.name, new_view.external_id) == ("pro", "Acme", "cus_1")
    assert new_view.remaining == 400 and new_view.refill == PRO.refill
    # The balance moved, entry for entry: each key's ledger still sums to its balance.
    assert await ledger_sum(ledger, view.key_id) == 0
    assert await ledger_sum(ledger, new.key_id) == 400
    newest = (await ledger.page(new.key_id, cursor=None, limit=1))[0][0]
    assert (newest.kind, newest.credits, newest.reason) == (
        "reroll",
        400,
        f"rerolled from {view.key_id}",
    )
    assert (await verify(new.key, 1)).remaining == 399
    # The old key still authenticates during the grace, with nothing left to spend.
    assert (await verify(old.key)).status is KeyStatus.VALID
    assert (await verify(old.key, 1)).status is KeyStatus.USAGE_EXCEEDED
    clock.advance(seconds=3600)
    assert (await verify(old.key)).status is KeyStatus.EXPIRED
    assert (await verify(new.key)).status is KeyStatus.VALID


async def test_reroll_without_grace_revokes_the_old_key_at_once(
    key_admin: RedisKeyAdmin, verify: Verifier
):
    old, view = await key_admin.create(KeySpec(FREE))

    new = await key_admin.reroll(view.key_id, grace_seconds=0)

    assert new is not None and new.credits == 10
    assert (await verify(old.key)).status is KeyStatus.NOT_FOUND
    assert await key_admin.get(view.key_id) is None
    assert (await verify(new.key, 1)).remaining == 9


async def test_list_pages_through_every_key_once_while_keys_are_added(key_admin: RedisKeyAdmin):
    created = [(await key_admin.create(KeySpec(FREE)))[1].key_id for _ in range(25)]

    seen, cursor, pages = [], None, 0
    while True:
        page, cursor = await key_admin.list(plan=None, external_id=None, cursor=cursor, limit=10)
        seen += [view.key_id for view in page]
        pages += 1
        if pages == 1:  # a key added mid-listing comes last, once
            created.append((await key_admin.create(KeySpec(FREE)))[1].key_id)
        if cursor is None:
            break

    assert pages == 3 and len(seen) == len(set(seen)) == 26
    assert seen == created


async def test_list_filters_by_plan_and_external_id(key_admin: RedisKeyAdmin):
    pro_a = (await key_admin.create(KeySpec(PRO, external_id="cus_a")))[1].key_id
    free_a = (await key_admin.create(KeySpec(FREE, external_id="cus_a")))[1].key_id
    pro_b = (await key_admin.create(KeySpec(PRO, external_id="cus_b")))[1].key_id

    async def ids(plan: str | None, external_id: str | None) -> list[str]:
        page, _ = await key_admin.list(plan=plan, external_id=external_id, cursor=None, limit=10)
        return [view.key_id for view in page]

    assert await ids("pro", None) == [pro_a, pro_b]
    assert await ids(None, "cus_a") == [pro_a, free_a]
    assert await ids("free", "cus_a") == [free_a]
    assert await ids("gold", None) == []
    await key_admin.update(free_a, KeyPatch(plan=PRO))
    assert await ids("pro", None) == [pro_a, free_a, pro_b]
    assert await key_admin.revoke(pro_a)
    assert await ids(None, "cus_a") == [free_a]


async def test_an_unknown_key_is_none_everywhere(key_admin: RedisKeyAdmin):
    assert await key_admin.get("key_nope") is None
    assert await key_admin.update("key_nope", KeyPatch(name="x")) is None
    assert await key_admin.update_credits("key_nope", CreditOperation.SET, 1) is None
    assert await key_admin.reroll("key_nope", 60) is None
    assert await key_admin.revoke("key_nope") is False


async def test_a_revoked_key_is_gone(key_admin: RedisKeyAdmin, verify: Verifier):
    issued, view = await key_admin.create(KeySpec(FREE))

    assert await key_admin.revoke(view.key_id) is True

    assert (await verify(issued.key)).status is KeyStatus.NOT_FOUND
    assert await key_admin.get(view.key_id) is None
    assert await key_admin.revoke(view.key_id) is False
