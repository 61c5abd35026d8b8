"""The operator use cases on hand-written fakes: validation names the field, unknown keys are
key_not_found, and the ledger gets each balance change the service is asked to record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.errors import InvalidRequest, KeyNotFound, SelfServeDisabled, UnknownPlan
from domain.models import Plan, Refill, RefillInterval
from domain.operator_service import OperatorService, self_serve_plan
from domain.operators import LedgerEntry, LedgerKind
from domain.plans import CatalogPlan, PlanCatalog
from tests.fakes.clock import FrozenClock
from tests.fakes.operators import MemoryCreditLedger, MemoryKeyAdmin

pytestmark = pytest.mark.anyio

PRO = Plan(500, Refill(RefillInterval.MONTHLY, 500, 1), "pro")
FREE = Plan(10, Refill(RefillInterval.DAILY, 10), "free")
CATALOG = PlanCatalog({"free": CatalogPlan(FREE, self_serve=True), "pro": CatalogPlan(PRO)})


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 3, 10, 12, tzinfo=UTC))


@pytest.fixture
def admin(clock: FrozenClock) -> MemoryKeyAdmin:
    return MemoryKeyAdmin(clock)


@pytest.fixture
def ledger() -> MemoryCreditLedger:
    return MemoryCreditLedger()


@pytest.fixture
def service(admin: MemoryKeyAdmin, ledger: MemoryCreditLedger, clock: FrozenClock):
    return OperatorService(admin, ledger, CATALOG, clock, record_changes=True)


async def invalid(field: str, call) -> InvalidRequest:  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidRequest) as caught:
        await call
    assert caught.value.field == field, caught.value.detail
    return caught.value


async def test_a_key_is_created_on_a_named_plan_with_its_mint_entry(
    service: OperatorService, ledger: MemoryCreditLedger
):
    issued, view = await service.create_key("pro", name="Acme", external_id="cus_1", meta={"a": 1})

    assert (view.plan, view.name, view.external_id, view.meta) == ("pro", "Acme", "cus_1", {"a": 1})
    assert issued.credits == view.remaining == 500
    assert [(e.kind, e.credits, e.balance) for e in ledger.entries[issued.key_id]] == [
        (LedgerKind.MINT, 500, 500)
    ]
    overridden, _ = await service.create_key("pro", credits=7)
    assert overridden.credits == 7 and ledger.sum(overridden.key_id) == 7


async def test_an_unknown_plan_names_plan(service: OperatorService):
    error = await invalid("plan", service.create_key("gold"))
    assert isinstance(error, UnknownPlan) and error.code == "unknown_plan"


async def test_bad_key_fields_are_refused_naming_the_field(
    service: OperatorService, clock: FrozenClock
):
    await invalid("name", service.create_key("pro", name="x" * 201))
    await invalid("name", service.create_key("pro", name="   "))
    await invalid("external_id", service.create_key("pro", external_id="has space"))
    await invalid("meta", service.create_key("pro", meta={"blob": "x" * 5000}))
    await invalid("meta", service.create_key("pro", meta={"plan": "free"}))
    await invalid("meta", service.create_key("pro", meta={"when": clock.now()}))
    await invalid("meta", service.create_key("pro", meta=["not", "an", "object"]))  # type: ignore[arg-type]
    await invalid("expires_at", service.create_key("pro", expires_at=clock.now()))
    await invalid("expires_at", service.create_key("pro", expires_at=datetime(2030, 1, 1)))
    await invalid("credits", service.create_key("pro", credits=-1))
    await invalid("credits", service.create_key("pro", credits=True))  # type: ignore[arg-type]


async def test_the_operator_service_refuses_an_unknown_key_everywhere(service: OperatorService):
    calls = [
        service.show_key("key_x"),
        service.patch_key("key_x", name="n"),
        service.change_credits("key_x", "set", 1),
        service.reroll_key("key_x", 60),
        service.revoke_key("key_x"),
        service.usage("key_x"),
        service.usage_by_day("key_x"),
    ]
    for call in calls:
        with pytest.raises(KeyNotFound) as caught:
            await call
        assert caught.value.code == "key_not_found"


async def test_a_patch_changes_what_is_sent_and_null_clears_expiry(
    service: OperatorService, clock: FrozenClock
):
    soon = clock.now() + timedelta(days=1)
    _, view = await service.create_key("free", name="trial", expires_at=soon)

    patched = await service.patch_key(view.key_id, plan="pro", enabled=False)
    assert (patched.plan, patched.refill, patched.enabled) == ("pro", PRO.refill, False)
    assert patched.name == "trial" and patched.expires_at == soon
    cleared = await service.patch_key(view.key_id, expires_at=None, name=None)
    assert cleared.expires_at is None and cleared.name is None

    await invalid("plan", service.patch_key(view.key_id, plan="gold"))
    await invalid("enabled", service.patch_key(view.key_id, enabled="yes"))  # type: ignore[arg-type]
    await invalid("expires_at", service.patch_key(view.key_id, expires_at=clock.now()))


async def test_credit_changes_are_signed_ledger_entries(
    service: OperatorService, ledger: MemoryCreditLedger
):
    _, view = await service.create_key("pro", credits=30)

    change = await service.change_credits(view.key_id, "set", 12, reason="goodwill")
    await service.change_credits(view.key_id, "increment", 5)
    clamped = await service.change_credits(view.key_id, "decrement", 100)

    assert (change.before, change.after, clamped.after) == (30, 12, 0)
    entries = ledger.entries[view.key_id][1:]
    assert [(e.kind, e.credits, e.balance, e.reason) for e in entries] == [
        (LedgerKind.SET, -18, 12, "goodwill"),
        (LedgerKind.INCREMENT, 5, 17, None),
        (LedgerKind.DECREMENT, -17, 0, None),
    ]
    assert ledger.sum(view.key_id) == 0
    await invalid("operation", service.change_credits(view.key_id, "multiply", 2))
    await invalid("value", service.change_credits(view.key_id, "set", -1))


async def test_a_provider_that_cannot_tell_the_balance_before_leaves_no_entry(
    clock: FrozenClock, ledger: MemoryCreditLedger
):
    admin = MemoryKeyAdmin(clock, knows_before=False)
    service = OperatorService(admin, ledger, CATALOG, clock, record_changes=True)
    _, view = await service.create_key("pro")

    await service.change_credits(view.key_id, "set", 3)

    assert [e.kind for e in ledger.entries[view.key_id]] == [LedgerKind.MINT]


async def test_reroll_moves_the_balance_on_both_ledgers_within_the_grace_bounds(
    service: OperatorService, admin: MemoryKeyAdmin, ledger: MemoryCreditLedger
):
    _, view = await service.create_key("pro")

    new = await service.reroll_key(view.key_id, 3600)

    assert admin.graces[view.key_id] == 3600 and new.credits == 500
    assert ledger.sum(view.key_id) == 0 and ledger.sum(new.key_id) == 500
    await invalid("grace_seconds", service.reroll_key(new.key_id, -1))
    await invalid("grace_seconds", service.reroll_key(new.key_id, 30 * 86_400 + 1))
    assert (await service.reroll_key(new.key_id, 30 * 86_400)).credits == 500


async def test_a_store_that_keeps_its_own_ledger_gets_no_second_entry(
    admin: MemoryKeyAdmin, ledger: MemoryCreditLedger, clock: FrozenClock
):
    service = OperatorService(admin, ledger, CATALOG, clock, record_changes=False)
    _, view = await service.create_key("pro")
    await service.change_credits(view.key_id, "set", 3)
    await service.reroll_key(view.key_id, 0)

    assert ledger.entries == {}


async def test_list_filters_and_pages(service: OperatorService):
    ids = [(await service.create_key("pro", external_id="cus_1"))[1].key_id for _ in range(3)]
    await service.create_key("free", external_id="cus_1")

    first, cursor = await service.list_keys(plan="pro", limit=2)
    second, end = await service.list_keys(plan="pro", cursor=cursor, limit=2)

    assert [v.key_id for v in first + second] == ids and end is None
    assert len((await service.list_keys(external_id="cus_1"))[0]) == 4
    await invalid("limit", service.list_keys(limit=0))
    await invalid("limit", service.list_keys(limit=101))
    await invalid("external_id", service.list_keys(external_id=""))


async def test_usage_pages_newest_first_with_totals(
    service: OperatorService, ledger: MemoryCreditLedger, clock: FrozenClock
):
    _, view = await service.create_key("pro", credits=20)
    for kind, credits in [("charge", -6), ("refund", 2), ("charge", -4)]:
        clock.advance(minutes=1)
        await ledger.append(view.key_id, LedgerEntry(clock.now(), LedgerKind(kind), credits))

    page = await service.usage(view.key_id, limit=2)
    rest = await service.usage(view.key_id, cursor=page.next_cursor, limit=2)

    assert [e.credits for e in page.entries] == [-4, 2]
    assert [e.credits for e in rest.entries] == [-6, 20] and rest.next_cursor is None
    assert (page.totals.charged, page.totals.refunded, page.totals.net) == (10, 2, 8)


async def test_usage_by_day_defaults_to_the_last_30_days(
    service: OperatorService, ledger: MemoryCreditLedger, clock: FrozenClock
):
    _, view = await service.create_key("pro")
    await ledger.append(view.key_id, LedgerEntry(clock.now(), LedgerKind.CHARGE, -3))
    old = clock.now() - timedelta(days=30)
    await ledger.append(view.key_id, LedgerEntry(old, LedgerKind.CHARGE, -100))

    buckets = await service.usage_by_day(view.key_id)

    assert len(buckets) == 30
    assert (buckets[0].date, buckets[-1].date) == (date(2026, 2, 9), date(2026, 3, 10))
    assert (buckets[-1].charged, sum(b.charged for b in buckets)) == (3, 3)
    chosen = await service.usage_by_day(view.key_id, first=date(2026, 2, 8), last=date(2026, 2, 8))
    assert [(b.date, b.charged) for b in chosen] == [(date(2026, 2, 8), 100)]
    reversed_range = await service.usage_by_day(
        view.key_id, first=date(2026, 3, 2), last=date(2026, 3, 1)
    )
    assert reversed_range == []  # a schema-valid pair of dates is answered, with no bucket


async def test_the_callers_own_usage_needs_no_key_check(service: OperatorService):
    page = await service.usage("key_mine_revoked", check_key=False)
    assert page.entries == [] and page.totals.net == 0


def test_self_serve_minting_needs_a_self_serve_plan():
    assert self_serve_plan(CATALOG) == FREE
    with pytest.raises(SelfServeDisabled) as caught:
        self_serve_plan(PlanCatalog({"pro": CatalogPlan(PRO)}))
    assert caught.value.code == "self_serve_disabled"
