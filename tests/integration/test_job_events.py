"""The SSE job stream over the real change hub on Valkey, without the HTTP layer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import redis
import redis.asyncio as aioredis
from litestar import Litestar, get
from litestar.response import ServerSentEvent, ServerSentEventMessage
from litestar.testing import AsyncTestClient

from adapters.redis_job_changes import RedisJobChanges, publish_change
from domain.errors import TooManyWaiters
from entrypoints.http.job_events import EventId, JobSnapshot, job_events, parse_event_id
from tests.integration.lifecycle_support import eventually, running_hub

pytestmark = pytest.mark.anyio
JOB = "job_sse"


class StoredJob:
    """The job as the store holds it; `change` is what a Lua transition does."""

    def __init__(self, publisher: aioredis.Redis) -> None:
        self.publisher = publisher
        self.version, self.status, self.position = 1, "queued", 0
        self.reads = 0

    async def read(self) -> JobSnapshot:
        self.reads += 1
        body = {"id": JOB, "status": self.status, "position": self.position}
        terminal = self.status in {"succeeded", "failed", "canceled", "aborted"}
        return JobSnapshot(self.version, terminal, self.status == "queued", json.dumps(body))

    async def change(self, status: str, *, publish: bool = True) -> None:
        self.version += 1
        self.status = status
        if publish:
            await publish_change(self.publisher, JOB, self.version, dequeued=status == "running")

    async def move_up(self, to: int) -> None:
        self.position = to
        await publish_change(self.publisher, "job_ahead", 9, dequeued=True)


@pytest.fixture
async def hub(redis_url: str) -> AsyncIterator[RedisJobChanges]:
    async with running_hub(redis_url, backoff_base=0.05) as hub:
        yield hub


@pytest.fixture
def job(async_redis: aioredis.Redis) -> StoredJob:
    return StoredJob(async_redis)


async def next_event(stream: AsyncIterator[ServerSentEventMessage]) -> ServerSentEventMessage:
    return await asyncio.wait_for(anext(stream), 10)


def decoded(event: ServerSentEventMessage) -> tuple[str | int | None, dict[str, object]]:
    assert event.event == "job"
    return event.id, json.loads(str(event.data))


async def test_events_follow_the_job_and_end_after_the_terminal_one(
    hub: RedisJobChanges, job: StoredJob
) -> None:
    stream = job_events(hub, job.read, JOB, "key_a")
    first = await next_event(stream)
    assert decoded(first) == ("1", {"id": JOB, "status": "queued", "position": 0})
    assert first.encode().startswith(b"id: 1\r\nevent: job\r\ndata: {")
    await job.change("running")
    assert decoded(await next_event(stream))[1]["status"] == "running"
    await job.change("succeeded")
    event_id, body = decoded(await next_event(stream))
    assert (event_id, body["status"]) == ("3", "succeeded")
    with pytest.raises(StopAsyncIteration):
        await next_event(stream)
    assert hub.waiting == 0


async def test_resume_skips_what_the_client_saw(hub: RedisJobChanges, job: StoredJob) -> None:
    await job.change("running")
    await job.change("succeeded")
    resumed = job_events(hub, job.read, JOB, "key_a", last_event_id="2")
    assert decoded(await next_event(resumed))[0] == "3"
    with pytest.raises(StopAsyncIteration):
        await next_event(resumed)
    seen_all = job_events(hub, job.read, JOB, "key_a", last_event_id="3")
    with pytest.raises(StopAsyncIteration):  # nothing new, and the job is over
        await next_event(seen_all)


async def test_a_stale_wake_is_skipped_without_a_read(hub: RedisJobChanges, job: StoredJob) -> None:
    stream = job_events(hub, job.read, JOB, "key_a", ping_every=60)
    await next_event(stream)
    pending = asyncio.ensure_future(next_event(stream))
    await publish_change(job.publisher, JOB, 1)  # a version the stream has sent
    await job.change("running")
    assert decoded(await pending)[0] == "2"
    assert job.reads == 2  # connect, and the change: not the stale notice
    await stream.aclose()


async def test_pings_while_nothing_happens(hub: RedisJobChanges, job: StoredJob) -> None:
    stream = job_events(hub, job.read, JOB, "key_a", ping_every=0.1)
    await next_event(stream)
    ping = await next_event(stream)
    assert ping.encode() == b": ping\r\n\r\n"
    assert job.reads == 1
    await stream.aclose()


async def test_queue_moves_are_coalesced(hub: RedisJobChanges, job: StoredJob) -> None:
    job.position = 10
    stream = job_events(hub, job.read, JOB, "key_a", position_interval=0.5, ping_every=60)
    assert decoded(await next_event(stream))[1]["position"] == 10
    for position in range(9, -1, -1):
        await job.move_up(position)
    ids = []
    while True:
        event_id, body = decoded(await next_event(stream))
        ids.append(parse_event_id(str(event_id)))
        if body["position"] == 0:
            break
    assert len(ids) < 10  # ten moves, fewer events
    assert ids == sorted(ids)
    assert ids[0] == EventId(1, 1)
    await job.change("running")
    assert decoded(await next_event(stream))[0] == "2"
    await stream.aclose()


async def test_resume_of_a_queued_job_continues_the_update_count(
    hub: RedisJobChanges, job: StoredJob
) -> None:
    job.position = 4
    stream = job_events(hub, job.read, JOB, "key_a", last_event_id="1-3", ping_every=60)
    assert decoded(await next_event(stream))[0] == "1-4"  # the current position, a new id
    await job.change("running")
    assert decoded(await next_event(stream))[0] == "2"
    await stream.aclose()


async def test_a_change_missed_while_unsubscribed_is_still_sent(
    hub: RedisJobChanges, job: StoredJob, sync_redis: redis.Redis
) -> None:
    stream = job_events(hub, job.read, JOB, "key_a", ping_every=60)
    await next_event(stream)
    await job.change("running", publish=False)  # lost with the subscription
    pending = asyncio.ensure_future(next_event(stream))
    await eventually(lambda: hub.waiting == 1)
    sync_redis.client_kill_filter(_type="pubsub")
    assert decoded(await pending)[1]["status"] == "running"
    await stream.aclose()


async def test_the_waiter_cap_refuses_before_any_event(redis_url: str, job: StoredJob) -> None:
    async with running_hub(redis_url, max_waiters_per_key=1) as hub:
        first = job_events(hub, job.read, JOB, "key_a")
        await next_event(first)
        with pytest.raises(TooManyWaiters):
            await next_event(job_events(hub, job.read, JOB, "key_a"))
        await first.aclose()


def test_event_ids_parse_strictly() -> None:
    assert parse_event_id("7") == EventId(7)
    assert parse_event_id("7-2") == EventId(7, 2)
    assert str(EventId(7)) == "7"
    assert str(EventId(7, 2)) == "7-2"
    assert EventId(7, 2) < EventId(8) < EventId(8, 1)
    for foreign in (None, "", "abc", "7-", "-2", "7.2", "\u0667", "1" * 19):
        assert parse_event_id(foreign) is None


async def test_the_stream_composes_with_litestars_server_sent_event(
    hub: RedisJobChanges, job: StoredJob
) -> None:
    """What the route will do: wrap the generator in ServerSentEvent."""

    @get("/events", sync_to_thread=False)
    def events() -> ServerSentEvent:
        return ServerSentEvent(job_events(hub, job.read, JOB, "key_a"))

    await job.change("running")
    await job.change("succeeded")
    async with AsyncTestClient(Litestar([events])) as client:
        response = await client.get("/events")
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text == f"id: 3\r\nevent: job\r\ndata: {(await job.read()).body}\r\n\r\n"
