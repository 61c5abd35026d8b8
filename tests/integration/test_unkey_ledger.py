"""The ledger on the Unkey provider (the fake Unkey over loopback, the ledger in a real
Valkey): imagegate writes the entries of what it does — mint, charges, refunds (API and
worker), operator top-ups — so a key's entries sum to Unkey's balance."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import redis
import redis.asyncio

from adapters.ledgered_quota import LedgeredCreditRefunder, LedgeredQuotaProvider
from adapters.redis_ledger import RedisCreditLedger
from adapters.unkey_http import AsyncUnkey
from adapters.unkey_key_admin import UnkeyKeyAdmin
from adapters.unkey_quota import UnkeyCreditRefunder, UnkeyQuotaProvider
from domain.models import Plan
from domain.operator_service import OperatorService
from domain.plans import CatalogPlan, PlanCatalog
from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_server import FakeUnkeyServer

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

PRO = Plan(credits=50, refill=None, name="pro")


async def test_entries_sum_to_unkeys_balance_after_mint_charges_refunds_and_a_top_up(
    fake_unkey: FakeUnkeyServer, async_redis: redis.asyncio.Redis, redis_url: str
):
    clock = FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    fake_unkey.set_clock(clock)
    endpoint = {"base_url": fake_unkey.base_url, "root_key": fake_unkey.root_key}
    ledger = RedisCreditLedger(async_redis)
    inner = UnkeyQuotaProvider(**endpoint, api_id=fake_unkey.api_id, timeout=5.0, clock=clock)
    quota = LedgeredQuotaProvider(inner, ledger, clock)
    connection = AsyncUnkey(**endpoint, timeout=5.0)
    admin = UnkeyKeyAdmin(connection, api_id=fake_unkey.api_id)
    catalog = PlanCatalog({"pro": CatalogPlan(PRO)})
    operators = OperatorService(admin, ledger, catalog, clock, record_changes=True)
    sync = redis.Redis.from_url(redis_url)
    unkey_refunder = UnkeyCreditRefunder(**endpoint, timeout=5.0)
    worker = LedgeredCreditRefunder(unkey_refunder, sync, clock)
    try:
        issued = await quota.mint(PRO)
        await quota.charge(issued.key, 12)
        await quota.charge(issued.key, 6)
        await quota.refund(issued.key_id, 6, job_id="job_canceled")  # a cancel, in the API
        worker.refund(issued.key_id, 12, job_id="job_failed")  # a failure, in the worker
        await quota.charge(issued.key, 40)
        await operators.change_credits(issued.key_id, "increment", 25, reason="top-up")

        entries = await ledger.between(issued.key_id, None, None)
        balance = (await operators.show_key(issued.key_id)).remaining
    finally:
        await connection.aclose()
        await quota.aclose()
        unkey_refunder.close()
        sync.close()

    assert [e.kind.value for e in entries] == [
        "mint", "charge", "charge", "refund", "refund", "charge", "increment",
    ]  # fmt: skip
    assert sum(e.credits for e in entries) == balance == 35
    assert {e.job_id for e in entries if e.kind.value == "refund"} == {"job_canceled", "job_failed"}
    assert issued.key not in str(entries)
