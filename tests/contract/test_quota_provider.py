"""One contract for the QuotaProvider port, run against every adapter: RedisQuotaProvider on a
real Valkey and UnkeyQuotaProvider on the fake Unkey over loopback HTTP. One clock drives the
adapter and the store (the fake Unkey's clock), so refill boundaries can be crossed at will.
The `quota` and `clock` fixtures are in conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import pytest

from domain.models import Charge, KeyStatus, Plan, Refill, RefillInterval
from domain.ports import QuotaProvider
from tests.fakes.clock import FrozenClock

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

DAILY = Plan.build(10, RefillInterval.DAILY, 10)
NO_REFILL = Plan.build(5, RefillInterval.NONE, 0)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0):
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


async def balance(quota: QuotaProvider, key: str) -> int | None:
    return (await quota.charge(key, 0)).remaining


# --- keys ---------------------------------------------------------------------------------


async def test_mint_issues_distinct_prefixed_keys_with_the_plans_credits(quota: QuotaProvider):
    first, second = await quota.mint(DAILY), await quota.mint(DAILY)

    assert first.key.startswith("ig_") and len(first.key) >= len("ig_") + 21  # >= 128 bits
    assert first.key_id.startswith("key_")
    assert first.credits == 10
    assert first.key != second.key and first.key_id != second.key_id


async def test_charge_subtracts_the_cost_and_reports_key_balance_and_refill(quota: QuotaProvider):
    issued = await quota.mint(DAILY)

    charge = await quota.charge(issued.key, 3)

    expected_refill = Refill(RefillInterval.DAILY, 10, 1)
    assert charge == Charge(KeyStatus.VALID, issued.key_id, 7, expected_refill, plan="default")
    assert charge.accepted


async def test_cost_zero_passes_even_on_an_empty_key(quota: QuotaProvider):
    issued = await quota.mint(Plan.build(0, RefillInterval.NONE, 0))

    charge = await quota.charge(issued.key, 0)

    assert charge.status is KeyStatus.VALID
    assert (charge.key_id, charge.remaining) == (issued.key_id, 0)


async def test_a_refused_charge_takes_nothing(quota: QuotaProvider):
    issued = await quota.mint(Plan.build(3, RefillInterval.DAILY, 10))

    refused = await quota.charge(issued.key, 5)
    exact = await quota.charge(issued.key, 3)
    empty = await quota.charge(issued.key, 1)

    assert (refused.status, refused.remaining, refused.key_id) == (
        KeyStatus.USAGE_EXCEEDED,
        3,
        issued.key_id,
    )
    assert refused.refill == Refill(RefillInterval.DAILY, 10, 1)  # for Retry-After
    assert (exact.status, exact.remaining) == (KeyStatus.VALID, 0)
    assert (empty.status, empty.remaining) == (KeyStatus.USAGE_EXCEEDED, 0)


async def test_an_unknown_key_is_not_found(quota: QuotaProvider):
    charge = await quota.charge("ig_4vJ9aKnotarealkey1234567", 1)

    assert charge == Charge(KeyStatus.NOT_FOUND)
    assert await quota.describe("ig_4vJ9aKnotarealkey1234567") is None


async def test_refund_gives_credits_back_to_the_key_id(quota: QuotaProvider):
    issued = await quota.mint(NO_REFILL)
    await quota.charge(issued.key, 5)

    await quota.refund(issued.key_id, 4)
    await quota.refund("key_unknown123", 4)  # no such key: nothing happens, nothing raised

    assert await balance(quota, issued.key) == 4


async def test_describe_shows_the_key_without_its_secret_and_spends_nothing(
    quota: QuotaProvider,
):
    issued = await quota.mint(Plan.build(8, RefillInterval.MONTHLY, 20, day=31))

    info = await quota.describe(issued.key)
    again = await quota.describe(issued.key)

    assert info is not None and again == info
    assert info.key_id == issued.key_id
    assert issued.key.startswith(info.start) and 3 <= len(info.start) <= len(issued.key) // 2
    assert info.remaining == 8
    assert info.refill == Refill(RefillInterval.MONTHLY, 20, 31)


async def test_a_revoked_key_is_gone(quota: QuotaProvider):
    issued = await quota.mint(DAILY)

    await quota.revoke(issued.key_id)
    await quota.revoke(issued.key_id)  # twice is fine
    await quota.refund(issued.key_id, 3)  # refunding a revoked key does not bring it back

    assert await quota.charge(issued.key, 0) == Charge(KeyStatus.NOT_FOUND)
    assert await quota.describe(issued.key) is None


# --- refills ------------------------------------------------------------------------------


async def test_daily_refill_sets_the_balance_at_midnight_utc(
    quota: QuotaProvider, clock: FrozenClock
):
    issued = await quota.mint(Plan.build(10, RefillInterval.DAILY, 10))
    await quota.charge(issued.key, 7)

    clock.set(at(2026, 1, 15, 23, 59, 59))
    before = await balance(quota, issued.key)
    clock.set(at(2026, 1, 16))
    after = await balance(quota, issued.key)
    await quota.charge(issued.key, 4)
    clock.set(at(2026, 1, 16, 18))
    same_day = await balance(quota, issued.key)

    assert before == 3
    assert after == 10  # set to the amount, not 3 + 10
    assert same_day == 6  # one refill per boundary


async def test_a_fresh_key_waits_for_the_next_boundary(quota: QuotaProvider, clock: FrozenClock):
    issued = await quota.mint(Plan.build(2, RefillInterval.DAILY, 10))

    today = await balance(quota, issued.key)
    clock.set(at(2026, 1, 16, 0, 0, 1))
    tomorrow = await balance(quota, issued.key)

    assert (today, tomorrow) == (2, 10)


async def test_a_topped_up_key_keeps_its_balance_over_a_refill(
    quota: QuotaProvider, clock: FrozenClock
):
    issued = await quota.mint(DAILY)
    await quota.refund(issued.key_id, 15)

    clock.set(at(2026, 1, 20, 9))

    assert await balance(quota, issued.key) == 25


async def test_a_plan_without_refill_never_refills(quota: QuotaProvider, clock: FrozenClock):
    issued = await quota.mint(NO_REFILL)
    await quota.charge(issued.key, 5)

    clock.set(at(2027, 3, 1))
    charge = await quota.charge(issued.key, 1)

    assert (charge.status, charge.remaining, charge.refill) == (KeyStatus.USAGE_EXCEEDED, 0, None)


@pytest.mark.parametrize(
    ("minted", "before", "boundary"),
    [
        pytest.param(at(2026, 1, 31, 8), at(2026, 2, 27, 23, 59), at(2026, 2, 28), id="feb"),
        pytest.param(at(2028, 1, 31, 8), at(2028, 2, 28, 23, 59), at(2028, 2, 29), id="feb-leap"),
        pytest.param(at(2026, 3, 31, 8), at(2026, 4, 29, 23, 59), at(2026, 4, 30), id="april"),
    ],
)
async def test_monthly_refill_on_day_31_falls_on_the_months_last_day(
    quota: QuotaProvider,
    clock: FrozenClock,
    minted: datetime,
    before: datetime,
    boundary: datetime,
):
    clock.set(minted)  # minted on a refill day, after its refill: no refill until next month
    issued = await quota.mint(Plan.build(10, RefillInterval.MONTHLY, 10, day=31))
    await quota.charge(issued.key, 10)

    clock.set(before)
    balance_before = await balance(quota, issued.key)
    clock.set(boundary)
    balance_at = await balance(quota, issued.key)

    assert (balance_before, balance_at) == (0, 10)


async def test_monthly_refill_waits_for_its_day(quota: QuotaProvider, clock: FrozenClock):
    issued = await quota.mint(Plan.build(10, RefillInterval.MONTHLY, 10, day=20))
    await quota.charge(issued.key, 10)

    clock.set(at(2026, 1, 19, 23, 59))
    on_19th = await balance(quota, issued.key)
    clock.set(at(2026, 1, 20))
    on_20th = await balance(quota, issued.key)
    await quota.charge(issued.key, 10)
    clock.set(at(2026, 2, 19, 12))
    next_month_19th = await balance(quota, issued.key)

    assert (on_19th, on_20th, next_month_19th) == (0, 10, 0)


# --- atomicity ----------------------------------------------------------------------------


async def test_concurrent_charges_never_overspend(quota: QuotaProvider):
    issued = await quota.mint(Plan.build(10, RefillInterval.DAILY, 10))
    verdicts: list[KeyStatus] = []

    async def charge_one() -> None:
        verdicts.append((await quota.charge(issued.key, 1)).status)

    async with anyio.create_task_group() as group:
        for _ in range(100):
            group.start_soon(charge_one)

    assert verdicts.count(KeyStatus.VALID) == 10
    assert verdicts.count(KeyStatus.USAGE_EXCEEDED) == 90
    assert await balance(quota, issued.key) == 0
