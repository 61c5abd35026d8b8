"""Job transitions note webhook events in the transition's own atomic step, against a real
Valkey; `record_job_events` turns the notes into deliveries exactly once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from adapters.redis_jobs import RedisJobStore, RedisJobTransitions
from adapters.redis_webhook_events import RedisJobEventNotes
from adapters.redis_webhook_log import RedisWebhookLog
from domain.models import ImageRequest, Job, JobError, StoredImage
from domain.webhook_jobs import record_job_events
from tests.fakes.clock import FrozenClock
from worker.webhooks import render_job

pytestmark = pytest.mark.anyio
REQUEST = ImageRequest(prompt="a cat", n=1, model="placeholder")


async def queued(redis_url: str, clock: FrozenClock, events: tuple[str, ...]) -> Job:
    job = Job.queued(owner="key_a", request=REQUEST, now=clock.now(), ttl=timedelta(hours=1))
    if events:
        job = job.evolve(webhook_url="https://example.com/hook", webhook_events=events)
    client = aioredis.Redis.from_url(redis_url)
    await RedisJobStore(client).add(job)
    await client.aclose()
    return job


def notes_of(sync_redis: redis.Redis) -> list[str]:
    return [n.decode() for n in sync_redis.zrange("ig:webhook_events", 0, -1)]


async def test_each_subscribed_transition_leaves_one_note(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    ledger = RedisJobTransitions(sync_redis)
    both = await queued(redis_url, clock, ("completed", "running"))
    completed_only = await queued(redis_url, clock, ("completed",))
    without = await queued(redis_url, clock, ())
    for job in (both, completed_only, without):
        ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    assert notes_of(sync_redis) == [f"{both.id}|running|1"]
    image = StoredImage(0, "image/png", 10, 1)
    ledger.succeed(both.id, 1, [image], clock.now())
    ledger.fail(completed_only.id, 1, JobError("internal", "x"), clock.now())
    ledger.succeed(without.id, 1, [image], clock.now())
    assert sorted(notes_of(sync_redis)) == sorted(
        [f"{both.id}|running|1", f"{both.id}|succeeded|1", f"{completed_only.id}|failed|1"]
    )


async def test_notes_become_deliveries_once_even_when_a_pass_is_repeated(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    ledger = RedisJobTransitions(sync_redis)
    log = RedisWebhookLog(sync_redis, ttl=timedelta(hours=1))
    notes = RedisJobEventNotes(sync_redis)
    job = await queued(redis_url, clock, ("completed",))
    ledger.start(job.id, clock.now(), max_attempts=3, lease_seconds=30)
    ledger.succeed(job.id, 1, [StoredImage(0, "image/png", 10, 1)], clock.now())
    [note] = notes.pending(10)

    def run() -> int:
        return record_job_events(notes, get_job=ledger.get, log=log, render=render_job, clock=clock)

    # A pass that crashed after recording but before forgetting the note: the next pass
    # finds the delivery already there and records nothing new.
    sync_redis.zadd("ig:webhook_events", {note.raw: 0})
    assert run() == 1
    sync_redis.zadd("ig:webhook_events", {note.raw: 0})
    assert run() == 0
    assert notes.pending(10) == []
    [delivery] = log.deliveries(job.id)
    assert delivery.id == note.delivery_id and delivery.event == "job.succeeded"
    assert delivery.signer == "key_a"
    stored = ledger.get(job.id)
    assert stored is not None
    assert b'"status":"succeeded"' in delivery.body
    assert render_job(stored)["images"][0]["url"] == f"/v1/jobs/{job.id}/images/0"


async def test_a_cancel_and_a_lost_worker_note_their_endings_too(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    clock = FrozenClock(datetime.now(UTC))
    ledger = RedisJobTransitions(sync_redis)
    canceled = await queued(redis_url, clock, ("completed",))
    lost = await queued(redis_url, clock, ("completed",))
    client = aioredis.Redis.from_url(redis_url)
    await RedisJobStore(client).cancel(canceled.id, "key_a", clock.now())
    await client.aclose()
    ledger.start(lost.id, clock.now(), max_attempts=1, lease_seconds=1)
    clock.advance(seconds=2)
    ledger.reclaim_expired(clock.now(), max_attempts=1, limit=10)
    assert sorted(notes_of(sync_redis)) == sorted(
        [f"{canceled.id}|canceled|0", f"{lost.id}|failed|1"]
    )
