"""Deliveries end to end below the wiring: the Redis log, the worker's loop body, a real HTTP
receiver on loopback verifying every attempt with the `standardwebhooks` package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
from standardwebhooks import Webhook

from adapters.redis_webhook_log import RedisWebhookLog
from adapters.webhook_http import HttpWebhookSender, SystemResolver, webhook_client
from domain.credit_alerts import alert_events
from domain.webhook_delivery import Outcome, RetryPolicy
from domain.webhook_log import DeliveryState, delivery_json
from domain.webhook_service import (
    WebhookSecrets,
    deliver_due,
    job_event_delivery,
    operator_deliveries,
)
from domain.webhook_urls import validate_webhook_url
from domain.webhooks import WebhookRequest
from tests.fakes.clock import FrozenClock
from tests.fakes.table_resolver import TableResolver
from tests.fakes.webhook_receiver import webhook_receiver
from tests.ports import free_port

SECRETS = WebhookSecrets(master_key="test-master-signing-key", operator_secret="whsec_b3BlcmF0b3I=")
POLICY = RetryPolicy()  # 5 s, 20 s, …: the clock is advanced, never slept on
LEASE = timedelta(seconds=60)
JOB = {"id": "job_1", "status": "succeeded", "images": []}


@pytest.fixture
def log(sync_redis: redis.Redis) -> RedisWebhookLog:
    return RedisWebhookLog(sync_redis, ttl=timedelta(hours=1), lease=LEASE)


@pytest.fixture
def sender() -> HttpWebhookSender:
    return HttpWebhookSender(webhook_client(SystemResolver(), allow_private=True))


def job_succeeded(log: RedisWebhookLog, url: str, clock: FrozenClock) -> str:
    delivery = job_event_delivery(
        webhook=WebhookRequest(url),
        job_id="job_1",
        key_id="key_a",
        status="succeeded",
        job_resource=JOB,
        now=clock.now(),
    )
    assert delivery is not None
    log.add(delivery)
    return delivery.id


def run(log: RedisWebhookLog, sender: HttpWebhookSender, clock: FrozenClock) -> int:
    return deliver_due(log, sender=sender, secrets=SECRETS, clock=clock, policy=POLICY)


def test_500_500_200_is_three_attempts_one_id_all_logged(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))  # the verifier checks timestamps against real time
    with webhook_receiver([500, 500, 200]) as receiver:
        delivery_id = job_succeeded(log, receiver.url, clock)
        assert run(log, sender, clock) == 1
        assert run(log, sender, clock) == 0  # not due again yet
        clock.advance(seconds=5)
        assert run(log, sender, clock) == 1
        clock.advance(seconds=19)
        assert run(log, sender, clock) == 0
        clock.advance(seconds=1)
        assert run(log, sender, clock) == 1
    secret = SECRETS.for_key("key_a")
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery_id] * 3
    for got in receiver.received:
        assert Webhook(secret).verify(got.body, got.headers)["data"] == JOB
    [stored] = log.deliveries("job_1")
    rendered = delivery_json(stored)
    assert rendered["id"] == delivery_id
    assert rendered["event"] == "job.succeeded"
    assert [a["status_code"] for a in rendered["attempts"]] == [500, 500, 200]
    assert rendered["delivered_at"] is not None
    assert rendered["next_attempt_at"] is None


def test_a_name_rebound_to_loopback_is_refused_at_delivery_and_the_log_says_why(
    log: RedisWebhookLog,
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with webhook_receiver([200]) as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        url = f"https://rebind.example.com:{port}/hooks"
        resolver = TableResolver({"rebind.example.com": [["93.184.216.34"], ["127.0.0.1"]]})
        validate_webhook_url(url, resolver=resolver, allow_private=False)  # submit: global
        pinned = HttpWebhookSender(webhook_client(resolver, allow_private=False))
        job_succeeded(log, url, clock)
        assert run(log, pinned, clock) == 1
    assert receiver.received == []
    [stored] = log.deliveries("job_1")
    [attempt] = delivery_json(stored)["attempts"]
    assert attempt["status_code"] is None
    assert "127.0.0.1" in attempt["error"] and "loopback" in attempt["error"]
    assert stored.state is DeliveryState.PENDING  # retried later: the answer may change back


def test_a_receiver_down_for_a_while_gets_the_event_once_it_is_back(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    port = free_port()
    job_succeeded(log, f"http://127.0.0.1:{port}/hooks", clock)
    run(log, sender, clock)
    clock.advance(seconds=5)
    run(log, sender, clock)
    with webhook_receiver([200], port=port) as receiver:
        clock.advance(seconds=20)
        assert run(log, sender, clock) == 1
    assert len(receiver.received) == 1
    [stored] = log.deliveries("job_1")
    assert stored.state is DeliveryState.DELIVERED
    assert [a.error is not None for a in stored.attempts] == [True, True, False]


def test_a_worker_lost_mid_delivery_leaves_it_to_another(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with webhook_receiver([200]) as receiver:
        job_succeeded(log, receiver.url, clock)
        assert len(log.claim_due(clock.now(), limit=10)) == 1  # claimed, then the worker died
        assert run(log, sender, clock) == 0
        clock.advance(seconds=LEASE.total_seconds())
        assert run(log, sender, clock) == 1
    assert len(receiver.received) == 1
    assert log.deliveries("job_1")[0].state is DeliveryState.DELIVERED


def test_410_stops_and_redeliver_sends_again_with_the_same_id(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    with webhook_receiver([410, 200]) as receiver:
        delivery_id = job_succeeded(log, receiver.url, clock)
        run(log, sender, clock)
        clock.advance(hours=2)
        assert run(log, sender, clock) == 0  # stopped: no more attempts
        clock.set(datetime.now(UTC))
        assert log.redeliver("job_1", delivery_id, clock.now())
        assert run(log, sender, clock) == 1
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivery_id] * 2
    [stored] = log.deliveries("job_1")
    assert [a.status_code for a in stored.attempts] == [410, 200]
    assert stored.state is DeliveryState.DELIVERED


def test_operator_events_are_signed_with_the_operator_secret(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    events = alert_events(
        key_id="key_a", plan="free", alerts=[0.8, 1.0], period_credits=10, before=3, after=2
    )
    with webhook_receiver([200]) as receiver:
        for delivery in operator_deliveries(events, operator_url=receiver.url, now=clock.now()):
            log.add(delivery)
        assert run(log, sender, clock) == 1
    [got] = receiver.received
    event = Webhook(SECRETS.operator_secret or "").verify(got.body, got.headers)
    assert event["type"] == "key.credits_low"
    assert event["data"] == {"key_id": "key_a", "plan": "free", "remaining": 2, "threshold": 0.8}
    assert log.deliveries("key_a")[0].state is DeliveryState.DELIVERED
    assert operator_deliveries(events, operator_url=None, now=clock.now()) == []


def test_a_removed_signing_key_is_logged_not_sent(
    log: RedisWebhookLog, sender: HttpWebhookSender
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    outcomes = []
    with webhook_receiver([200]) as receiver:
        job_succeeded(log, receiver.url, clock)
        deliver_due(
            log,
            sender=sender,
            secrets=WebhookSecrets(master_key=None),
            clock=clock,
            policy=POLICY,
            observe=lambda _d, _a, decision: outcomes.append(decision.outcome),
        )
    assert receiver.received == []
    assert outcomes == [Outcome.RETRY]
    [stored] = log.deliveries("job_1")
    assert stored.attempts[0].error is not None
    assert stored.attempts[0].error.startswith("not sent")
