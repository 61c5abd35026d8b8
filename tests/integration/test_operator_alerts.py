"""Operator credit alerts after charges, on a real Valkey: recorded once per threshold per
refill period into the delivery log, then sent by the same machinery as job events — signed
with the operator's secret, verified with `standardwebhooks`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
import redis
import redis.asyncio as aioredis
from standardwebhooks import Webhook

from adapters.redis_alert_dedupe import RedisAlertDedupe
from adapters.redis_webhook_log import AsyncRedisWebhookLog, RedisWebhookLog
from adapters.webhook_http import HttpWebhookSender, SystemResolver, webhook_client
from domain.models import Charge, KeyStatus, Plan, Refill, RefillInterval
from domain.operator_alerts import CreditAlerts
from domain.plans import CatalogPlan, PlanCatalog
from domain.webhook_delivery import RetryPolicy
from domain.webhook_service import WebhookSecrets, deliver_due
from tests.fakes.clock import FrozenClock
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.anyio
PLAN = Plan(credits=10, refill=Refill(RefillInterval.DAILY, 10), name="free")
CATALOG = PlanCatalog({"free": CatalogPlan(PLAN, alerts=(Fraction(1, 2), Fraction(1)))})
OPERATOR_SECRET = "whsec_b3BlcmF0b3Itc2VjcmV0LWZvci10ZXN0cw=="
SECRETS = WebhookSecrets(master_key="m", operator_secret=OPERATOR_SECRET)


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


def charged(remaining: int) -> Charge:
    return Charge(KeyStatus.VALID, "key_a", remaining, PLAN.refill, plan="free")


async def test_each_threshold_fires_once_per_period_and_is_delivered_signed(
    client: aioredis.Redis, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC) - timedelta(days=1))  # ends at now: due for delivery
    ttl = timedelta(days=3)
    with webhook_receiver([200]) as receiver:
        alerts = CreditAlerts(
            catalog=CATALOG,
            dedupe=RedisAlertDedupe(client),
            log=AsyncRedisWebhookLog(client, ttl=ttl),
            operator_url=receiver.url,
            clock=clock,
        )
        assert await alerts.after_charge(charged(8), 2) == 0  # 20 % spent
        assert await alerts.after_charge(charged(4), 4) == 1  # 60 %: credits_low
        # A refund took the balance back to 6; spending past 50 % again is not news.
        assert await alerts.after_charge(charged(3), 3) == 0  # already told this period
        assert await alerts.after_charge(charged(0), 3) == 1  # exhausted
        # An operator top-up to 10, spent again: still not news.
        assert await alerts.after_charge(charged(0), 10) == 0
        assert await alerts.after_charge(charged(0), 0) == 0
        clock.advance(days=1)  # the refill: a new period, the thresholds fire again
        assert await alerts.after_charge(charged(5), 5) == 1

        log = RedisWebhookLog(sync_redis, ttl=ttl)
        sender = HttpWebhookSender(webhook_client(SystemResolver(), allow_private=True))
        policy = RetryPolicy()
        real_now = FrozenClock(datetime.now(UTC))  # the verifier checks timestamps
        while deliver_due(log, sender=sender, secrets=SECRETS, clock=real_now, policy=policy):
            pass
    bodies = [Webhook(OPERATOR_SECRET).verify(r.body, r.headers) for r in receiver.received]
    # Events due at the same instant may be delivered in either order (Standard Webhooks
    # promises no order), so they are compared as a set of (type, data).
    seen = sorted((b["type"], json.dumps(b["data"], sort_keys=True)) for b in bodies)
    low = {"key_id": "key_a", "plan": "free", "threshold": 0.5}
    assert seen == sorted(
        [
            ("key.credits_low", json.dumps({**low, "remaining": 4}, sort_keys=True)),
            ("key.credits_exhausted",
             json.dumps({"key_id": "key_a", "plan": "free", "remaining": 0}, sort_keys=True)),
            ("key.credits_low", json.dumps({**low, "remaining": 5}, sort_keys=True)),
        ]
    )  # fmt: skip
    assert sorted(d.event for d in log.deliveries("key_a")) == sorted(b["type"] for b in bodies)
    assert all(d.delivered_at for d in log.deliveries("key_a"))


async def test_without_an_operator_url_alerts_are_counted_not_sent(
    client: aioredis.Redis, sync_redis: redis.Redis
) -> None:
    alerts = CreditAlerts(
        catalog=CATALOG,
        dedupe=RedisAlertDedupe(client),
        log=AsyncRedisWebhookLog(client, ttl=timedelta(hours=1)),
        operator_url=None,
        clock=FrozenClock(datetime.now(UTC)),
    )
    assert await alerts.after_charge(charged(4), 6) == 1
    assert RedisWebhookLog(sync_redis, ttl=timedelta(hours=1)).deliveries("key_a") == []
