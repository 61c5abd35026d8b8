"""The operator's credit alerts are the key's own plan's, on every quota provider: a charge names
the key's plan (local store: its record; Unkey: `meta.plan` in the verify answer), and
CreditAlerts picks that plan's `alerts` from the catalog. The `quota` fixture (conftest.py)
runs each test on the local Redis store and on the fake Unkey."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import pytest

from domain.models import KeyStatus, Plan, Refill, RefillInterval
from domain.operator_alerts import CreditAlerts
from domain.plans import CatalogPlan, PlanCatalog
from domain.ports import QuotaProvider
from tests.fakes.clock import FrozenClock
from tests.fakes.webhook_memory import CountingKick, MemoryAlertDedupe, MemoryWebhookLog

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

FREE = Plan(credits=4, refill=None, name="free")  # alerts at 50 % and 100 %
PRO = Plan(credits=10, refill=Refill(RefillInterval.DAILY, 10), name="pro")  # at 80 % only
QUIET = Plan(credits=4, refill=None, name="quiet")  # no alerts
CATALOG = PlanCatalog(
    {
        "free": CatalogPlan(FREE, self_serve=True, alerts=(Fraction(1, 2), Fraction(1))),
        "pro": CatalogPlan(PRO, alerts=(Fraction(4, 5),)),
        "quiet": CatalogPlan(QUIET),
    }
)
OPERATOR_URL = "https://operator.example/hooks"


def credit_alerts(clock: FrozenClock, log: MemoryWebhookLog) -> CreditAlerts:
    return CreditAlerts(
        catalog=CATALOG,
        dedupe=MemoryAlertDedupe(),
        log=log,
        operator_url=OPERATOR_URL,
        clock=clock,
        kick=CountingKick(),
    )


def events(log: MemoryWebhookLog, key_id: str) -> list[tuple[str, dict[str, object]]]:
    return [(d.event, json.loads(d.body)["data"]) for d in log.added if d.subject_id == key_id]


async def test_a_charge_names_the_keys_plan(quota: QuotaProvider) -> None:
    free, pro = await quota.mint(FREE), await quota.mint(PRO)

    spent = await quota.charge(free.key, 4)
    refused = await quota.charge(free.key, 1)
    other = await quota.charge(pro.key, 0)

    assert (spent.status, spent.plan) == (KeyStatus.VALID, "free")
    assert (refused.status, refused.plan) == (KeyStatus.USAGE_EXCEEDED, "free")
    assert other.plan == "pro"
    assert (await quota.charge("ig_4vJ9aKnotarealkey1234567", 1)).plan is None


async def test_keys_on_two_plans_fire_at_their_own_thresholds(
    quota: QuotaProvider, clock: FrozenClock
) -> None:
    log = MemoryWebhookLog()
    alerts = credit_alerts(clock, log)
    free, pro = await quota.mint(FREE), await quota.mint(PRO)

    async def spend(key: str, cost: int) -> None:
        charge = await quota.charge(key, cost)
        assert charge.accepted
        await alerts.after_charge(charge, cost)

    await spend(free.key, 2)  # free: 50 % spent → its 0.5 fires
    await spend(pro.key, 5)  # pro: 50 % spent → nothing (pro alerts at 0.8 only)
    assert events(log, pro.key_id) == []
    await spend(pro.key, 3)  # pro: 80 %
    await spend(free.key, 2)  # free: 100 % → exhausted
    await spend(pro.key, 2)  # pro: 100 %, but pro has no 1.0 threshold

    assert events(log, free.key_id) == [
        ("key.credits_low", {"key_id": free.key_id, "plan": "free", "remaining": 2,
                             "threshold": 0.5}),
        ("key.credits_exhausted", {"key_id": free.key_id, "plan": "free", "remaining": 0}),
    ]  # fmt: skip
    assert events(log, pro.key_id) == [
        ("key.credits_low", {"key_id": pro.key_id, "plan": "pro", "remaining": 2,
                             "threshold": 0.8}),
    ]  # fmt: skip
    assert all(d.url == OPERATOR_URL for d in log.added)


async def test_a_plan_without_alerts_or_unknown_to_the_catalog_fires_none(
    quota: QuotaProvider, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    log = MemoryWebhookLog()
    alerts = credit_alerts(clock, log)
    quiet = await quota.mint(QUIET)
    removed = await quota.mint(Plan(credits=4, refill=None, name="legacy"))  # not in CATALOG

    with caplog.at_level(logging.WARNING, logger="imagegate.domain"):
        for key in (quiet.key, removed.key, removed.key):
            charge = await quota.charge(key, 2)
            assert await alerts.after_charge(charge, 2) == 0

    assert log.added == []
    unknown = [r for r in caplog.records if "'legacy'" in r.getMessage()]
    assert len(unknown) == 1  # logged once, not on every charge
