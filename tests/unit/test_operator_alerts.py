"""The API-side webhook use cases with in-memory fakes: CreditAlerts picks the charged key's plan
and asks the webhook consumer for a pass only when it recorded a delivery; a redelivery is
handed to the consumer at once."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from domain.errors import JobNotFound
from domain.models import Charge, ImageRequest, JobDraft, KeyStatus, Plan
from domain.operator_alerts import CreditAlerts
from domain.plans import CatalogPlan, PlanCatalog
from domain.webhook_api import JobWebhooks
from domain.webhook_log import Delivery
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryJobs
from tests.fakes.webhook_memory import CountingKick, MemoryAlertDedupe, MemoryWebhookLog

pytestmark = pytest.mark.anyio
TEAM = Plan(credits=10, refill=None, name="team")
CATALOG = PlanCatalog({"team": CatalogPlan(TEAM, alerts=(Fraction(1, 2), Fraction(1)))})


def alerts(log: MemoryWebhookLog, kick: CountingKick, url: str | None = "https://op.example"):
    return CreditAlerts(
        catalog=CATALOG,
        dedupe=MemoryAlertDedupe(),
        log=log,
        operator_url=url,
        clock=FrozenClock(),
        kick=kick,
    )


def charged(remaining: int, plan: str | None = "team") -> Charge:
    return Charge(KeyStatus.VALID, "key_a", remaining, None, plan=plan)


async def test_the_consumer_is_kicked_once_per_charge_that_recorded_deliveries() -> None:
    log, kick = MemoryWebhookLog(), CountingKick()
    credit_alerts = alerts(log, kick)

    assert await credit_alerts.after_charge(charged(8), 2) == 0
    assert kick.kicks == 0
    assert await credit_alerts.after_charge(charged(0), 8) == 2  # low and exhausted at once
    assert [d.event for d in log.added] == ["key.credits_low", "key.credits_exhausted"]
    assert kick.kicks == 1


async def test_without_an_operator_url_events_are_counted_and_nothing_is_kicked() -> None:
    log, kick = MemoryWebhookLog(), CountingKick()

    assert await alerts(log, kick, url=None).after_charge(charged(5), 5) == 1
    assert (log.added, kick.kicks) == ([], 0)


async def test_a_charge_that_names_no_plan_fires_none() -> None:
    log, kick = MemoryWebhookLog(), CountingKick()

    assert await alerts(log, kick).after_charge(charged(0, plan=None), 10) == 0
    assert log.added == []


async def test_a_failing_log_never_fails_the_charge() -> None:
    class BrokenLog(MemoryWebhookLog):
        async def add(self, delivery: Delivery) -> None:
            raise ConnectionError("redis away")

    assert await alerts(BrokenLog(), CountingKick()).after_charge(charged(0), 10) == 0


async def test_a_redelivery_is_handed_to_the_consumer_at_once() -> None:
    jobs, log, kick, clock = MemoryJobs(), MemoryWebhookLog(), CountingKick(), FrozenClock()
    draft = JobDraft.new(request=ImageRequest(prompt="p"), now=clock.now(), ttl=timedelta(hours=1))
    job = draft.owned_by("key_a")
    await jobs.add(job)
    delivery = Delivery.new(
        subject_id=job.id, event="job.succeeded", url="https://x.example", signer="key_a",
        body=b"{}", now=clock.now(),
    )  # fmt: skip
    await log.add(delivery)
    webhooks = JobWebhooks(jobs, log, clock, kick)

    with pytest.raises(JobNotFound):
        await webhooks.redeliver(job.id, "msg_unknown", owner="key_a")
    assert kick.kicks == 0
    await webhooks.redeliver(job.id, delivery.id, owner="key_a")

    assert log.redelivered == [(job.id, delivery.id)]
    assert kick.kicks == 1
