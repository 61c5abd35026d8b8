"""The use cases against in-memory fakes of the ports."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.admission import ChargeThenRecord
from domain.api_jobs import CancelJob, SubmitGeneration
from domain.api_keys import MintKey
from domain.errors import (
    ContentPolicyViolation,
    InvalidKey,
    InvalidRequest,
    JobNotCancelable,
    JobNotFound,
    QueueUnavailable,
    QuotaExceeded,
    StoreUnavailable,
    UpstreamUnavailable,
)
from domain.generation import WorkerPolicy, end_user_id, run_generation, sweep
from domain.models import ImageRequest, JobStatus, Plan, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import (
    MemoryImages,
    MemoryJobs,
    MemoryLedger,
    MemoryQueue,
    MemoryQuota,
    MemoryRefunder,
    NoLeases,
    ScriptedGenerator,
)

pytestmark = pytest.mark.anyio
PLAN = Plan.build(10, RefillInterval.DAILY, 10)
REQUEST = ImageRequest(prompt="a cat", n=2, model="placeholder")
POLICY = WorkerPolicy(max_attempts=3, lease_seconds=30)


class World:
    def __init__(self) -> None:
        self.quota = MemoryQuota()
        self.jobs = MemoryJobs()
        self.ledger = MemoryLedger(self.jobs)
        self.queue = MemoryQueue()
        self.clock = FrozenClock()
        self.images = MemoryImages()

    async def submit(self, key: str, request: ImageRequest = REQUEST):  # type: ignore[no-untyped-def]
        submit = SubmitGeneration(
            ChargeThenRecord(self.quota, self.jobs), self.quota, self.jobs, self.queue,
            self.clock, job_ttl=timedelta(hours=1), default_model="placeholder",
        )  # fmt: skip
        return await submit(key, request)

    def run(self, job_id: str, generator: ScriptedGenerator, *, may_retry: bool = True):  # type: ignore[no-untyped-def]
        return run_generation(
            job_id, ledger=self.ledger, generator=generator, store=self.images,
            refunder=MemoryRefunder(self.quota), leases=NoLeases(), clock=self.clock,
            policy=POLICY, may_retry=may_retry,
        )  # fmt: skip

    def sweep(self):  # type: ignore[no-untyped-def]
        return sweep(
            ledger=self.ledger, dispatcher=self.queue, refunder=MemoryRefunder(self.quota),
            clock=self.clock, policy=POLICY, grace=timedelta(seconds=30),
        )  # fmt: skip


@pytest.fixture
def world() -> World:
    return World()


async def test_submit_charges_records_and_enqueues(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    submitted = await world.submit(key)
    job = submitted.job
    assert job.status is JobStatus.QUEUED
    assert job.charged == 2
    assert world.queue.sent == [job.id]
    assert world.quota.balances[job.owner] == 8
    assert submitted.charge.remaining == 8


async def test_invalid_request_costs_nothing(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    with pytest.raises(InvalidRequest) as caught:
        await world.submit(key, ImageRequest(prompt="", model="placeholder"))
    assert caught.value.field == "prompt"
    assert list(world.quota.balances.values()) == [10]


async def test_unknown_key_and_exhausted_quota(world: World) -> None:
    with pytest.raises(InvalidKey):
        await world.submit("ig_unknown")
    key = (await MintKey(world.quota, Plan.build(1, RefillInterval.NONE, 1))()).key
    with pytest.raises(QuotaExceeded) as caught:
        await world.submit(key)
    assert caught.value.retry_after is None  # the plan never refills
    assert caught.value.remaining == 1
    assert world.jobs.jobs == {}


async def test_enqueue_failure_refunds_and_forgets_the_job(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    world.queue.down = True
    with pytest.raises(QueueUnavailable):
        await world.submit(key)
    assert list(world.quota.balances.values()) == [10]
    assert world.jobs.jobs == {}
    assert len(world.quota.refunds) == 1


async def test_store_failure_refunds(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    world.jobs.fail_add = True
    with pytest.raises(StoreUnavailable):
        await world.submit(key)
    assert list(world.quota.balances.values()) == [10]
    assert world.queue.sent == []


async def test_cancel_refunds_once_then_409(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    canceled = await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner=job.owner)
    assert canceled.status is JobStatus.CANCELED
    assert canceled.refunded == 2
    with pytest.raises(JobNotCancelable):
        await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner=job.owner)
    with pytest.raises(JobNotFound):
        await CancelJob(world.jobs, world.quota, world.clock)(job.id, owner="key_other")
    assert world.quota.refunds == [(job.owner, 2)]
    # The worker then skips it.
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0


async def test_generation_succeeds_and_stores_every_image(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    outcome = world.run(job.id, ScriptedGenerator())
    assert outcome.status is JobStatus.SUCCEEDED
    done = world.jobs.jobs[job.id]
    assert [image.index for image in done.images] == [0, 1]
    assert world.images.get(job.id, 1) == b"img1"
    # Redelivery of a finished job is a no-op.
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0
    assert world.quota.refunds == []


async def test_transient_errors_retry_then_fail_and_refund_once(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    generator = ScriptedGenerator([UpstreamUnavailable(retry_after=3.0)] * 5)
    first = world.run(job.id, generator)
    assert first.retry
    assert first.retry_after == 3.0
    assert world.jobs.jobs[job.id].status is JobStatus.QUEUED
    assert world.run(job.id, generator).retry
    last = world.run(job.id, generator)  # third attempt hits max_attempts=3
    assert last.status is JobStatus.FAILED
    failed = world.jobs.jobs[job.id]
    assert failed.error is not None
    assert failed.error.code == "upstream_unavailable"
    assert failed.refunded == 2
    assert world.quota.refunds == [(job.owner, 2)]
    assert world.run(job.id, generator).status is None
    assert world.quota.refunds == [(job.owner, 2)]


async def test_permanent_error_fails_at_once(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    generator = ScriptedGenerator([ContentPolicyViolation()])
    assert world.run(job.id, generator).status is JobStatus.FAILED
    assert generator.calls == 1
    error = world.jobs.jobs[job.id].error
    assert error is not None
    assert error.code == "content_policy"
    assert world.quota.balances[job.owner] == 10


async def test_attempts_exhausted_by_lost_workers_fail_with_worker_lost(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    for _ in range(3):  # three deliveries whose workers died mid-generation
        world.ledger.start(job.id, world.clock.now(), max_attempts=3, lease_seconds=30)
        world.clock.advance(seconds=31)
    outcome = world.run(job.id, ScriptedGenerator())
    assert outcome.status is JobStatus.FAILED
    error = world.jobs.jobs[job.id].error
    assert error is not None
    assert error.code == "worker_lost"
    assert world.quota.refunds == [(job.owner, 2)]


async def test_a_failed_refund_is_owed_and_the_sweeper_makes_it_once(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    world.quota.fail_refunds = True
    outcome = world.run(job.id, ScriptedGenerator([ContentPolicyViolation()]))
    assert outcome.status is JobStatus.FAILED
    assert job.id not in world.jobs.refund_claimed
    assert world.quota.balances[job.owner] == 8
    world.quota.fail_refunds = False
    world.clock.advance(seconds=31)
    report = world.sweep()
    assert report.refunded == [job.id]
    assert world.quota.balances[job.owner] == 10
    assert world.sweep().refunded == []
    assert world.quota.refunds == [(job.owner, 2)]


async def test_a_busy_job_is_left_to_the_worker_holding_its_lease(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    world.ledger.start(job.id, world.clock.now(), max_attempts=3, lease_seconds=30)
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0


async def test_sweeper_requeues_a_lost_job_and_it_then_succeeds_charged_once(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    world.queue.sent.clear()
    world.ledger.start(job.id, world.clock.now(), max_attempts=3, lease_seconds=30)
    assert not world.sweep()  # lease still live
    world.clock.advance(seconds=31)
    report = world.sweep()
    assert report.requeued == [job.id]
    assert world.queue.sent == [job.id]
    assert world.run(job.id, ScriptedGenerator()).status is JobStatus.SUCCEEDED
    assert world.jobs.jobs[job.id].attempts == 2
    assert world.quota.balances[job.owner] == 8
    assert world.quota.refunds == []


async def test_sweeper_enqueues_a_job_the_api_never_enqueued(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    world.ledger.outbox[job.id] = job.created_at  # as if the API died before enqueueing
    assert not world.sweep()  # within the grace period the API may still enqueue it
    world.clock.advance(seconds=31)
    assert world.sweep().enqueued == [job.id]
    assert world.sweep().enqueued == []


def test_end_user_id_is_stable_and_not_the_key_id() -> None:
    assert end_user_id("key_abc") == end_user_id("key_abc")
    assert "key_abc" not in end_user_id("key_abc")
    assert end_user_id("key_abc") != end_user_id("key_abd")


class BrokenImages(MemoryImages):
    def put(self, job_id, index, image):  # type: ignore[no-untyped-def]
        raise OSError("disk gone")


async def test_a_store_failure_retries_then_fails_and_refunds(world: World) -> None:
    key = (await MintKey(world.quota, PLAN)()).key
    job = (await world.submit(key)).job
    world.images = BrokenImages()
    first = world.run(job.id, ScriptedGenerator())
    assert first.retry
    assert world.jobs.jobs[job.id].status is JobStatus.QUEUED
    world.run(job.id, ScriptedGenerator())
    assert world.run(job.id, ScriptedGenerator()).status is JobStatus.FAILED
    error = world.jobs.jobs[job.id].error
    assert error is not None
    assert error.code == "store_unavailable"
    assert world.quota.refunds == [(job.owner, 2)]
