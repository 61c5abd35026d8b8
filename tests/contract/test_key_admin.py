"""One contract for the KeyAdmin port (operator key management), run against every provider's
adapter through the `key_admin` fixture: UnkeyKeyAdmin on the fake Unkey over loopback HTTP,
and RedisKeyAdmin on a real Valkey. Each param also supplies the provider's QuotaProvider
(`quota`), to see a change the way callers do, and shares the test's `clock` with its store,
so expiry and reroll grace are crossed without sleeping. Provider-specific checks belong in
the adapters' own tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio

from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_quota import RedisQuotaProvider
from adapters.unkey_http import AsyncUnkey
from adapters.unkey_key_admin import UnkeyKeyAdmin
from adapters.unkey_quota import UnkeyQuotaProvider
from domain.models import KeyStatus, Plan, Refill, RefillInterval
from domain.operators import CreditChange, CreditOperation, KeyAdmin, KeyPatch, KeySpec
from domain.ports import QuotaProvider
from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_server import FakeUnkeyServer

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

FREE = Plan(credits=10, refill=Refill(RefillInterval.DAILY, 10), name="free")
PRO = Plan(credits=100, refill=Refill(RefillInterval.MONTHLY, 500, day=1), name="pro")
QUOTA = pytest.StashKey[QuotaProvider]()
NOW = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(params=["unkey", "local"])
async def key_admin(request: pytest.FixtureRequest, clock: FrozenClock) -> AsyncIterator[KeyAdmin]:
    if request.param == "unkey":
        fake: FakeUnkeyServer = request.getfixturevalue("fake_unkey")
        fake.set_clock(clock)
        endpoint = {"base_url": fake.base_url, "root_key": fake.root_key, "api_id": fake.api_id}
        connection = AsyncUnkey(base_url=fake.base_url, root_key=fake.root_key, timeout=5.0)
        quota = UnkeyQuotaProvider(**endpoint, timeout=5.0, clock=clock)
        request.node.stash[QUOTA] = quota
        yield UnkeyKeyAdmin(connection, api_id=fake.api_id)
        await connection.aclose()
        await quota.aclose()
    else:
        client = redis.asyncio.Redis.from_url(request.getfixturevalue("redis_url"))
        request.node.stash[QUOTA] = RedisQuotaProvider(client, clock)
        yield RedisKeyAdmin(client, clock)
        await client.aclose()


@pytest.fixture
def quota(key_admin: KeyAdmin, request: pytest.FixtureRequest) -> QuotaProvider:
    return request.node.stash[QUOTA]


async def status(quota: QuotaProvider, key: str) -> KeyStatus:
    return (await quota.charge(key, 0)).status


# --- create and view ----------------------------------------------------------------------


async def test_create_on_a_plan_with_every_setting(key_admin: KeyAdmin, quota: QuotaProvider):
    expires = NOW + timedelta(days=30)
    spec = KeySpec(
        plan=PRO,
        name="acme ci",
        external_id="acme",
        meta={"team": "imaging", "seats": 3},
        expires_at=expires,
        credits=42,
    )

    issued, view = await key_admin.create(spec)

    assert (issued.key_id, issued.credits) == (view.key_id, 42)
    assert issued.key.startswith(view.start) and issued.key != view.start
    assert (view.plan, view.name, view.external_id) == ("pro", "acme ci", "acme")
    assert view.meta == {"team": "imaging", "seats": 3}  # the plan is not caller meta
    assert (view.enabled, view.expires_at, view.remaining) == (True, expires, 42)
    assert view.refill == Refill(RefillInterval.MONTHLY, 500, day=1)
    assert view.created_at is not None
    assert issued.key not in repr(view)
    charge = await quota.charge(issued.key, 2)
    assert (charge.status, charge.remaining) == (KeyStatus.VALID, 40)


async def test_create_defaults_to_the_plans_credits(key_admin: KeyAdmin):
    issued, view = await key_admin.create(KeySpec(plan=FREE))

    assert issued.credits == view.remaining == 10
    assert (view.plan, view.name, view.external_id, view.meta) == ("free", None, None, {})
    assert view.expires_at is None


async def test_get_shows_what_create_showed(key_admin: KeyAdmin):
    _, created = await key_admin.create(KeySpec(plan=FREE, name="n", meta={"a": 1}))

    assert await key_admin.get(created.key_id) == created


# --- patch --------------------------------------------------------------------------------


async def test_disable_and_enable(key_admin: KeyAdmin, quota: QuotaProvider):
    issued, _ = await key_admin.create(KeySpec(plan=FREE))

    disabled = await key_admin.update(issued.key_id, KeyPatch(enabled=False))
    refused = await status(quota, issued.key)
    enabled = await key_admin.update(issued.key_id, KeyPatch(enabled=True))

    assert disabled is not None and disabled.enabled is False
    assert refused is KeyStatus.DISABLED
    assert enabled is not None and enabled.enabled is True
    assert await status(quota, issued.key) is KeyStatus.VALID


async def test_expiry_set_reached_and_cleared(
    key_admin: KeyAdmin, quota: QuotaProvider, clock: FrozenClock
):
    issued, _ = await key_admin.create(KeySpec(plan=FREE, expires_at=NOW + timedelta(hours=1)))

    before = await status(quota, issued.key)
    clock.advance(hours=2)
    after = await status(quota, issued.key)
    cleared = await key_admin.update(issued.key_id, KeyPatch(expires_at=None))

    assert (before, after) == (KeyStatus.VALID, KeyStatus.EXPIRED)
    assert cleared is not None and cleared.expires_at is None
    assert await status(quota, issued.key) is KeyStatus.VALID


async def test_a_partial_patch_keeps_what_it_omits(key_admin: KeyAdmin):
    issued, _ = await key_admin.create(KeySpec(plan=FREE, name="old", meta={"a": 1}))

    renamed = await key_admin.update(issued.key_id, KeyPatch(name="new"))
    remeta = await key_admin.update(issued.key_id, KeyPatch(meta={"b": 2}))
    unnamed = await key_admin.update(issued.key_id, KeyPatch(name=None))

    assert renamed is not None and (renamed.name, renamed.meta) == ("new", {"a": 1})
    assert remeta is not None and (remeta.name, remeta.meta, remeta.plan) == (
        "new",
        {"b": 2},
        "free",
    )
    assert unnamed is not None and (unnamed.name, unnamed.meta) == (None, {"b": 2})


async def test_a_plan_change_keeps_the_balance_and_takes_the_new_refill(
    key_admin: KeyAdmin, quota: QuotaProvider
):
    issued, _ = await key_admin.create(KeySpec(plan=FREE, meta={"a": 1}))
    before = await quota.charge(issued.key, 3)

    moved = await key_admin.update(issued.key_id, KeyPatch(plan=PRO))

    assert moved is not None
    assert (moved.plan, moved.remaining, moved.meta) == ("pro", 7, {"a": 1})
    assert moved.refill == PRO.refill
    # The charge names the plan the key is on now (the credit alerts are that plan's).
    assert (before.plan, (await quota.charge(issued.key, 1)).plan) == ("free", "pro")


# --- credits ------------------------------------------------------------------------------


async def test_set_increment_and_decrement_clamped_at_zero(
    key_admin: KeyAdmin, quota: QuotaProvider
):
    issued, _ = await key_admin.create(KeySpec(plan=FREE))

    set_to = await key_admin.update_credits(issued.key_id, CreditOperation.SET, 30)
    raised = await key_admin.update_credits(issued.key_id, CreditOperation.INCREMENT, 5)
    lowered = await key_admin.update_credits(issued.key_id, CreditOperation.DECREMENT, 7)
    clamped = await key_admin.update_credits(issued.key_id, CreditOperation.DECREMENT, 1000)

    assert set_to == CreditChange(before=10, after=30)
    assert raised == CreditChange(before=30, after=35)
    assert lowered == CreditChange(before=35, after=28)
    assert clamped == CreditChange(before=28, after=0)
    assert (await quota.charge(issued.key, 1)).status is KeyStatus.USAGE_EXCEEDED


# --- reroll and revoke --------------------------------------------------------------------


async def test_reroll_without_grace_replaces_the_key_at_once(
    key_admin: KeyAdmin, quota: QuotaProvider
):
    old, _ = await key_admin.create(KeySpec(plan=PRO, name="n", meta={"a": 1}, credits=20))
    await quota.charge(old.key, 5)

    new = await key_admin.reroll(old.key_id, 0)

    assert new is not None and new.key != old.key and new.key_id != old.key_id
    assert new.credits == 15
    assert await status(quota, old.key) is KeyStatus.NOT_FOUND
    assert await status(quota, new.key) is KeyStatus.VALID
    view = await key_admin.get(new.key_id)
    assert view is not None
    assert (view.plan, view.name, view.meta, view.remaining) == ("pro", "n", {"a": 1}, 15)


async def test_reroll_with_grace_keeps_the_old_key_until_it_ends(
    key_admin: KeyAdmin, quota: QuotaProvider, clock: FrozenClock
):
    old, _ = await key_admin.create(KeySpec(plan=FREE))

    new = await key_admin.reroll(old.key_id, 60)
    assert new is not None
    during = await status(quota, old.key)
    clock.advance(seconds=61)

    assert during is KeyStatus.VALID
    assert await status(quota, old.key) is KeyStatus.NOT_FOUND
    assert await status(quota, new.key) is KeyStatus.VALID


async def test_revoke(key_admin: KeyAdmin, quota: QuotaProvider):
    issued, _ = await key_admin.create(KeySpec(plan=FREE))

    assert await key_admin.revoke(issued.key_id) is True

    assert await key_admin.get(issued.key_id) is None
    assert await status(quota, issued.key) is KeyStatus.NOT_FOUND
    assert await key_admin.revoke(issued.key_id) is False


async def test_an_unknown_key_is_none_or_false(key_admin: KeyAdmin):
    unknown = "key_4vJ9aKnotarealkey1"

    assert await key_admin.get(unknown) is None
    assert await key_admin.update(unknown, KeyPatch(enabled=False)) is None
    assert await key_admin.update_credits(unknown, CreditOperation.INCREMENT, 1) is None
    assert await key_admin.reroll(unknown, 0) is None
    assert await key_admin.revoke(unknown) is False


# --- list ---------------------------------------------------------------------------------


async def list_all(
    key_admin: KeyAdmin, *, plan: str | None = None, external_id: str | None = None
) -> list[str]:
    """Every key id over every page of 10, in order; at most 10 per page."""
    listed: list[str] = []
    cursor: str | None = None
    for _ in range(30):
        page, cursor = await key_admin.list(
            plan=plan, external_id=external_id, cursor=cursor, limit=10
        )
        assert len(page) <= 10
        listed += [view.key_id for view in page]
        if cursor is None:
            return listed
    raise AssertionError("listing never ended")


async def test_list_pages_through_every_key_once_with_filters(key_admin: KeyAdmin):
    made: dict[str, tuple[str, str | None]] = {}
    for index in range(25):
        plan = PRO if index % 3 == 0 else FREE
        external_id = "acme" if index % 5 == 0 else None
        issued, _ = await key_admin.create(KeySpec(plan=plan, external_id=external_id))
        made[issued.key_id] = (plan.name, external_id)

    everything = await list_all(key_admin)
    pro = await list_all(key_admin, plan="pro")
    acme = await list_all(key_admin, external_id="acme")
    acme_pro = await list_all(key_admin, plan="pro", external_id="acme")

    assert len(everything) == len(set(everything)) == 25 and set(everything) == set(made)
    assert len(pro) == len(set(pro))
    assert set(pro) == {key_id for key_id, (plan, _) in made.items() if plan == "pro"}
    assert set(acme) == {key_id for key_id, (_, ext) in made.items() if ext == "acme"}
    assert len(acme) == len(set(acme)) == 5
    assert set(acme_pro) == {k for k, (plan, ext) in made.items() if (plan, ext) == ("pro", "acme")}


async def test_a_full_first_page_has_exactly_the_limit(key_admin: KeyAdmin):
    for _ in range(12):
        await key_admin.create(KeySpec(plan=FREE))

    page, cursor = await key_admin.list(plan=None, external_id=None, cursor=None, limit=10)
    rest, end = await key_admin.list(plan=None, external_id=None, cursor=cursor, limit=10)

    assert (len(page), len(rest), end) == (10, 2, None)
    assert cursor is not None
    assert not {view.key_id for view in page} & {view.key_id for view in rest}
