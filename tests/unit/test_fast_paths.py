"""The fast paths of the API: the relay that publishes batches and tracks the broker, the key-id
cache for reads, and the up-front refusal of submits while the broker is known down."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from adapters.celery_queue import BrokerState, RelayedJobQueue
from adapters.key_cache import KeyCachingQuotaProvider
from domain.admission import ChargeThenRecord
from domain.api_jobs import SubmitGeneration
from domain.api_keys import Authenticate, MintKey
from domain.errors import QueueUnavailable
from domain.models import ImageRequest, Plan, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryJobs, MemoryQueue, MemoryQuota

pytestmark = pytest.mark.anyio
PLAN = Plan.build(10, RefillInterval.DAILY, 10)


class FakePublisher:
    """Stands in for CeleryPublisher: records batches; fails while `down`."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.down = False

    def publish_batch(self, job_ids: Sequence[str]) -> None:
        if self.down:
            raise ConnectionError("broker down")
        self.batches.append(list(job_ids))

    def ping_sync(self) -> None:
        if self.down:
            raise ConnectionError("broker down")


class Relay:
    def __init__(self) -> None:
        self.publisher = FakePublisher()
        self.marked: list[str] = []
        self.queue = RelayedJobQueue(
            self.publisher,  # type: ignore[arg-type]
            on_published=self.mark,
            retry_seconds=0.01,
        )

    async def mark(self, job_ids: Sequence[str]) -> None:
        self.marked.extend(job_ids)

    async def eventually(self, condition, timeout: float = 2.0) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout):
            while not condition():
                await asyncio.sleep(0.005)


async def test_concurrent_submits_are_published_in_batches_then_leave_the_outbox() -> None:
    relay = Relay()
    await asyncio.gather(*(relay.queue.enqueue(f"job_{i}") for i in range(50)))
    published = [job_id for batch in relay.publisher.batches for job_id in batch]
    assert sorted(published) == sorted(f"job_{i}" for i in range(50))
    assert len(relay.publisher.batches) < 50  # batched, not one publish each
    assert sorted(relay.marked) == sorted(published)
    assert relay.queue.state is BrokerState.UP
    await relay.queue.aclose()


async def test_a_failed_publish_refuses_the_waiting_submit_and_the_next_ones() -> None:
    relay = Relay()
    relay.publisher.down = True
    with pytest.raises(QueueUnavailable):
        await relay.queue.enqueue("job_1")
    assert relay.queue.state is BrokerState.DOWN
    assert not relay.queue.accepting()
    with pytest.raises(QueueUnavailable):
        await relay.queue.enqueue("job_2")
    assert relay.marked == []
    relay.publisher.down = False
    await relay.eventually(relay.queue.accepting)
    await relay.queue.enqueue("job_3")
    assert relay.marked == ["job_3"]
    await relay.queue.aclose()


async def test_submit_is_refused_before_charging_while_the_queue_is_known_down() -> None:
    quota, jobs, queue = MemoryQuota(), MemoryJobs(), MemoryQueue(known_down=True)
    key = (await MintKey(quota, PLAN)()).key
    submit = SubmitGeneration(
        ChargeThenRecord(quota, jobs), quota, jobs, queue, FrozenClock(),
        job_ttl=timedelta(hours=1), default_model="placeholder",
    )  # fmt: skip
    with pytest.raises(QueueUnavailable):
        await submit(key, ImageRequest(prompt="p", model="placeholder"))
    assert list(quota.balances.values()) == [10]
    assert quota.refunds == []
    assert jobs.jobs == {}


class CountingQuota(MemoryQuota):
    calls: int = 0

    async def charge(self, key: str, cost: int):  # type: ignore[no-untyped-def]
        self.calls += 1
        return await super().charge(key, cost)


async def test_the_key_cache_answers_reads_until_it_expires_and_forgets_revoked_keys() -> None:
    inner = CountingQuota()
    now = [0.0]
    cache = KeyCachingQuotaProvider(inner, ttl_seconds=5, monotonic=lambda: now[0])
    key = (await MintKey(cache, PLAN)()).key
    first = await Authenticate(cache)(key)
    assert (await Authenticate(cache)(key)).key_id == first.key_id
    assert inner.calls == 1
    await cache.charge(key, 2)  # spending always asks the provider
    assert inner.calls == 2
    now[0] = 5.1
    await Authenticate(cache)(key)
    assert inner.calls == 3
    assert first.key_id is not None
    await cache.revoke(first.key_id)
    assert not (await cache.charge(key, 0)).accepted  # at once in this process
    assert not (await cache.charge("ig_unknown", 0)).accepted
    assert inner.calls == 5


async def test_the_key_cache_is_bounded_and_keeps_no_raw_key() -> None:
    cache = KeyCachingQuotaProvider(MemoryQuota(), ttl_seconds=5, max_entries=3)
    keys = [(await MintKey(cache, PLAN)()).key for _ in range(5)]
    for key in keys:
        await cache.charge(key, 0)
    entries = cache._entries
    assert len(entries) == 3
    assert not set(keys) & set(entries)
