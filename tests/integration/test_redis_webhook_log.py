"""The webhook delivery log on a real Valkey: claims, leases, attempts, redelivery, expiry."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters.redis_webhook_log import AsyncRedisWebhookLog, RedisWebhookLog
from domain.webhook_delivery import Attempt, Decision, Outcome
from domain.webhook_log import ClaimedDelivery, Delivery, DeliveryState, delivery_json
from domain.webhooks import event_timestamp

NOW = datetime.now(UTC).replace(microsecond=0)
TTL = timedelta(hours=1)
LEASE = timedelta(seconds=60)
BODY = b'{"type":"job.succeeded","data":{"id":"job_1"}}'


@pytest.fixture
def log(sync_redis: redis.Redis) -> RedisWebhookLog:
    return RedisWebhookLog(sync_redis, ttl=TTL, lease=LEASE)


@pytest.fixture
def async_log(async_redis: aioredis.Redis) -> AsyncRedisWebhookLog:
    return AsyncRedisWebhookLog(async_redis, ttl=TTL)


def new_delivery(subject: str = "job_1", at: datetime = NOW) -> Delivery:
    return Delivery.new(
        subject_id=subject,
        event="job.succeeded",
        url="https://hooks.example.com/in",
        signer="key_a",
        body=BODY,
        now=at,
    )


def failed(at: datetime) -> Attempt:
    return Attempt(at=at, status_code=500, error="HTTP 500", duration_ms=7)


def only(claims: list[ClaimedDelivery]) -> ClaimedDelivery:
    assert len(claims) == 1
    return claims[0]


def test_a_new_delivery_is_due_and_round_trips(log: RedisWebhookLog) -> None:
    delivery = new_delivery()
    log.add(delivery)
    assert log.get(delivery.id) == delivery
    assert log.claim_due(NOW - timedelta(seconds=1), limit=10) == []
    claim = only(log.claim_due(NOW, limit=10))
    assert claim.delivery == delivery
    assert claim.attempt_number == 1
    assert delivery_json(delivery) == {
        "id": delivery.id,
        "event": "job.succeeded",
        "delivered_at": None,
        "next_attempt_at": event_timestamp(NOW),
        "attempts": [],
    }


def test_a_claim_holds_until_its_lease_ends_then_the_delivery_comes_back(
    log: RedisWebhookLog,
) -> None:
    delivery = new_delivery()
    log.add(delivery)
    first = only(log.claim_due(NOW, limit=10))
    assert log.claim_due(NOW + LEASE - timedelta(seconds=1), limit=10) == []
    second = only(log.claim_due(NOW + LEASE, limit=10))  # the first worker crashed
    assert second.token != first.token
    # The crashed worker's late attempt is logged but decides nothing.
    assert not log.record(first, failed(NOW), Decision(Outcome.DELIVERED))
    stored = log.get(delivery.id)
    assert stored is not None
    assert stored.state is DeliveryState.PENDING
    assert len(stored.attempts) == 1
    assert log.record(second, failed(NOW + LEASE), Decision(Outcome.GAVE_UP))
    stored = log.get(delivery.id)
    assert stored is not None
    assert stored.state is DeliveryState.GAVE_UP
    assert len(stored.attempts) == 2


def test_a_retry_is_due_at_its_time_and_counts_the_round(log: RedisWebhookLog) -> None:
    delivery = new_delivery()
    log.add(delivery)
    claim = only(log.claim_due(NOW, limit=10))
    retry_at = NOW + timedelta(seconds=20)
    assert log.record(claim, failed(NOW), Decision(Outcome.RETRY, next_attempt_at=retry_at))
    assert log.claim_due(retry_at - timedelta(seconds=1), limit=10) == []
    claim = only(log.claim_due(retry_at, limit=10))
    assert claim.attempt_number == 2
    assert claim.delivery.next_attempt_at == retry_at
    assert [a.status_code for a in claim.delivery.attempts] == [500]
    delivered = Attempt(at=retry_at, status_code=200, error=None, duration_ms=3)
    assert log.record(claim, delivered, Decision(Outcome.DELIVERED))
    stored = log.get(delivery.id)
    assert stored is not None
    assert (stored.state, stored.delivered_at) == (DeliveryState.DELIVERED, retry_at)
    rendered = delivery_json(stored)
    assert rendered["next_attempt_at"] is None
    assert [a["status_code"] for a in rendered["attempts"]] == [500, 200]
    assert log.claim_due(NOW + timedelta(days=1), limit=10) == []


def test_stopped_is_final(log: RedisWebhookLog) -> None:
    delivery = new_delivery()
    log.add(delivery)
    claim = only(log.claim_due(NOW, limit=10))
    gone = Attempt(at=NOW, status_code=410, error="HTTP 410", duration_ms=2)
    assert log.record(claim, gone, Decision(Outcome.STOPPED))
    assert log.claim_due(NOW + timedelta(days=1), limit=10) == []
    stored = log.get(delivery.id)
    assert stored is not None
    assert stored.state is DeliveryState.STOPPED


def test_redeliver_starts_a_new_round_with_the_same_id(log: RedisWebhookLog) -> None:
    delivery = new_delivery()
    log.add(delivery)
    claim = only(log.claim_due(NOW, limit=10))
    log.record(claim, failed(NOW), Decision(Outcome.GAVE_UP))
    later = NOW + timedelta(minutes=5)
    assert not log.redeliver("job_other", delivery.id, later)  # scoped to its subject
    assert log.claim_due(later, limit=10) == []
    assert log.redeliver("job_1", delivery.id, later)
    claim = only(log.claim_due(later, limit=10))
    assert claim.delivery.id == delivery.id
    assert claim.attempt_number == 1  # a fresh retry budget
    assert len(claim.delivery.attempts) == 1  # the history stays


def test_everything_expires_with_the_job(log: RedisWebhookLog, sync_redis: redis.Redis) -> None:
    delivery = new_delivery()
    log.add(delivery)
    claim = only(log.claim_due(NOW, limit=10))
    log.record(claim, failed(NOW), Decision(Outcome.RETRY, next_attempt_at=NOW))
    ttl_s = TTL.total_seconds()
    for key in (
        f"ig:webhook:{delivery.id}",
        f"ig:webhook:{delivery.id}:attempts",
        "ig:webhooks:job_1",
    ):
        assert ttl_s - 60 < sync_redis.ttl(key) <= ttl_s, key
    # Once the delivery has expired, its id left in the due set is dropped, not claimed.
    sync_redis.delete(f"ig:webhook:{delivery.id}")
    assert log.claim_due(NOW + timedelta(days=1), limit=10) == []
    assert sync_redis.zcard("ig:webhooks:due") == 0


def test_concurrent_claimers_never_share_a_delivery(log: RedisWebhookLog, redis_url: str) -> None:
    deliveries = [new_delivery(subject=f"job_{i}") for i in range(60)]
    for delivery in deliveries:
        log.add(delivery)
    claimed: dict[int, list[str]] = {0: [], 1: [], 2: []}
    start = threading.Barrier(len(claimed))

    def claimer(worker: int) -> None:
        client = redis.Redis.from_url(redis_url)
        mine = RedisWebhookLog(client, ttl=TTL, lease=LEASE)
        start.wait()
        while batch := mine.claim_due(NOW, limit=2):
            claimed[worker].extend(c.delivery.id for c in batch)
        client.close()

    threads = [threading.Thread(target=claimer, args=(w,)) for w in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    everything = [i for ids in claimed.values() for i in ids]
    assert sorted(everything) == sorted(d.id for d in deliveries)  # each exactly once


@pytest.mark.anyio
async def test_the_api_view_adds_lists_and_redelivers(
    async_log: AsyncRedisWebhookLog, log: RedisWebhookLog
) -> None:
    first, second = new_delivery(), new_delivery(at=NOW + timedelta(seconds=1))
    await async_log.add(first)
    await async_log.add(second)
    await async_log.add(new_delivery(subject="job_2"))
    assert [d.id for d in await async_log.deliveries("job_1")] == [first.id, second.id]
    claims = log.claim_due(NOW + timedelta(seconds=1), limit=10)
    assert len(claims) == 3
    for claim in claims:
        log.record(claim, failed(NOW), Decision(Outcome.GAVE_UP))
    assert await async_log.redeliver("job_1", first.id, NOW + timedelta(minutes=1))
    assert not await async_log.redeliver("job_2", first.id, NOW + timedelta(minutes=1))
    assert [c.delivery.id for c in log.claim_due(NOW + timedelta(minutes=1), limit=10)] == [
        first.id
    ]
    assert await async_log.deliveries("job_missing") == []


class _RacedRedis(redis.Redis):
    """A client on which `race` runs right after the first EXISTS of a delivery record, the
    moment a second webhook pass could add and claim the same delivery."""

    race: object = None

    def _raced(self) -> None:
        race, self.race = self.race, None
        if callable(race):
            race()

    def exists(self, *names: object) -> int:  # type: ignore[override]
        found = super().exists(*names)
        self._raced()
        return int(found)  # type: ignore[arg-type]

    def pipeline(
        self, transaction: bool = True, shard_hint: object = None
    ) -> redis.client.Pipeline:
        client = self

        class Raced(redis.client.Pipeline):
            def exists(self, *names: object) -> object:  # type: ignore[override]
                found = super().exists(*names)
                if self.watching:
                    client._raced()
                return found

        return Raced(self.connection_pool, self.response_callbacks, transaction, shard_hint)


def test_a_pass_that_loses_the_race_to_add_a_delivery_does_not_make_it_due_again(
    redis_url: str, log: RedisWebhookLog
) -> None:
    delivery = new_delivery()
    raced = _RacedRedis.from_url(redis_url)
    slow = RedisWebhookLog(raced, ttl=TTL, lease=LEASE)
    claimed: list[ClaimedDelivery] = []

    def other_pass() -> None:  # adds the same delivery and claims it for its attempt
        assert log.add_new(delivery)
        claimed.extend(log.claim_due(NOW, limit=10))

    raced.race = other_pass
    assert not slow.add_new(delivery)
    assert len(claimed) == 1
    assert log.claim_due(NOW, limit=10) == []  # held by the first claim: no second attempt
    raced.close()
