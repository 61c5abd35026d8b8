"""The worker's use cases (RunGeneration, Sweep) against in-memory fakes of the ports."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.errors import ContentPolicyViolation, UpstreamUnavailable
from domain.generation import GenerationOutcome, RunGeneration, WorkerPolicy, end_user_id
from domain.models import GeneratedImage, ImageRequest, Job, JobStatus, StoredImage
from domain.sweeping import Sweep, SweepReport
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

REQUEST = ImageRequest(prompt="a cat", n=2, model="placeholder")
POLICY = WorkerPolicy(max_attempts=3, lease_seconds=30)
OWNER = "key_owner"


class World:
    def __init__(self) -> None:
        self.quota = MemoryQuota(balances={OWNER: 8})  # 10 credits, 2 charged for the job
        self.jobs = MemoryJobs()
        self.ledger = MemoryLedger(self.jobs)
        self.queue = MemoryQueue()
        self.clock = FrozenClock()
        self.images = MemoryImages()

    def submitted(self) -> Job:
        job = Job.queued(owner=OWNER, request=REQUEST, now=self.clock.now(), ttl=timedelta(hours=1))
        self.jobs.jobs[job.id] = job
        return job

    def run(
        self, job_id: str, generator: ScriptedGenerator, on_claim: Callable[[Job], object] = id
    ) -> GenerationOutcome:
        return RunGeneration(
            ledger=self.ledger, generator=generator, store=self.images,
            refunder=MemoryRefunder(self.quota), leases=NoLeases(), dispatcher=self.queue,
            clock=self.clock, policy=POLICY, on_claim=on_claim,
        )(job_id)  # fmt: skip

    def sweep(self) -> SweepReport:
        return Sweep(
            ledger=self.ledger, dispatcher=self.queue, refunder=MemoryRefunder(self.quota),
            clock=self.clock, policy=POLICY, grace=timedelta(seconds=30),
        )()  # fmt: skip


@pytest.fixture
def world() -> World:
    return World()


def test_generation_succeeds_and_stores_every_image(world: World) -> None:
    job = world.submitted()
    outcome = world.run(job.id, ScriptedGenerator())
    assert outcome.status is JobStatus.SUCCEEDED
    done = world.jobs.jobs[job.id]
    assert [(image.index, image.attempt) for image in done.images] == [(0, 1), (1, 1)]
    assert world.images.get(job.id, 1, 1) == b"img1"
    # Redelivery of a finished job is a no-op.
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0
    assert world.quota.refunds == []


def test_the_claimed_job_is_told_first_and_returned_so_nobody_reads_it_again(
    world: World,
) -> None:
    job = world.submitted()
    claimed: list[Job] = []
    outcome = world.run(job.id, ScriptedGenerator(), on_claim=claimed.append)
    assert [(j.id, j.status, j.attempts) for j in claimed] == [(job.id, JobStatus.RUNNING, 1)]
    assert outcome.job == claimed[0]
    claimed.clear()
    assert world.run(job.id, ScriptedGenerator(), on_claim=claimed.append).job is None
    assert claimed == []  # a finished job is not claimed


def test_a_canceled_job_is_skipped(world: World) -> None:
    job = world.submitted()
    world.jobs.jobs[job.id] = job.evolve(status=JobStatus.CANCELED)
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0


def test_transient_errors_retry_through_the_dispatcher_then_fail_and_refund_once(
    world: World,
) -> None:
    job = world.submitted()
    generator = ScriptedGenerator([UpstreamUnavailable(retry_after=3.0)] * 5)
    first = world.run(job.id, generator)
    assert first.retry
    assert first.retry_after == 3.0
    assert world.jobs.jobs[job.id].status is JobStatus.QUEUED
    # The use case sends the retry itself, with its countdown: no second retry counter.
    assert world.queue.sent == [job.id]
    assert world.queue.countdowns == [3.0]
    assert world.run(job.id, generator).retry
    last = world.run(job.id, generator)  # third attempt hits max_attempts=3
    assert last.status is JobStatus.FAILED
    assert len(world.queue.sent) == 2
    failed = world.jobs.jobs[job.id]
    assert failed.attempts == 3
    assert failed.error is not None
    assert failed.error.code == "upstream_unavailable"
    assert failed.refunded == 2
    assert world.quota.refunds == [(job.owner, 2)]
    assert world.run(job.id, generator).status is None
    assert world.quota.refunds == [(job.owner, 2)]


def test_a_retry_the_broker_refuses_waits_in_the_outbox_for_the_sweeper(world: World) -> None:
    job = world.submitted()
    world.queue.down = True
    assert world.run(job.id, ScriptedGenerator([UpstreamUnavailable(retry_after=1.0)])).retry
    assert world.jobs.jobs[job.id].status is JobStatus.QUEUED
    assert job.id in world.ledger.outbox
    world.queue.down = False
    world.clock.advance(seconds=32)
    assert world.sweep().enqueued == [job.id]


def test_permanent_error_fails_at_once(world: World) -> None:
    job = world.submitted()
    generator = ScriptedGenerator([ContentPolicyViolation()])
    assert world.run(job.id, generator).status is JobStatus.FAILED
    assert generator.calls == 1
    error = world.jobs.jobs[job.id].error
    assert error is not None
    assert error.code == "content_policy"
    assert world.quota.balances[job.owner] == 10


def test_attempts_exhausted_by_lost_workers_fail_with_worker_lost(world: World) -> None:
    job = world.submitted()
    for _ in range(3):  # three deliveries whose workers died mid-generation
        world.ledger.start(job.id, world.clock.now(), max_attempts=3, lease_seconds=30)
        world.clock.advance(seconds=31)
    outcome = world.run(job.id, ScriptedGenerator())
    assert outcome.status is JobStatus.FAILED
    error = world.jobs.jobs[job.id].error
    assert error is not None
    assert error.code == "worker_lost"
    assert world.quota.refunds == [(job.owner, 2)]


def test_a_failed_refund_is_owed_and_the_sweeper_makes_it_once(world: World) -> None:
    job = world.submitted()
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


def test_a_busy_job_is_left_to_the_worker_holding_its_lease(world: World) -> None:
    job = world.submitted()
    world.ledger.start(job.id, world.clock.now(), max_attempts=3, lease_seconds=30)
    generator = ScriptedGenerator()
    assert world.run(job.id, generator).status is None
    assert generator.calls == 0


def test_sweeper_requeues_a_lost_job_and_it_then_succeeds_charged_once(world: World) -> None:
    job = world.submitted()
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


class StallingGenerator(ScriptedGenerator):
    """Stalls past its lease: while it generates, the sweeper gives the job to attempt 2."""

    def __init__(self, world: World, rescuer: ScriptedGenerator) -> None:
        super().__init__()
        self.world, self.rescuer = world, rescuer

    def generate(self, request, *, user):  # type: ignore[no-untyped-def]
        self.world.clock.advance(seconds=31)
        job_id = next(iter(self.world.jobs.jobs))
        assert self.world.sweep().requeued == [job_id]
        assert self.world.run(job_id, self.rescuer).status is JobStatus.SUCCEEDED
        return super().generate(request, user=user)


def test_an_attempt_that_lost_its_lease_publishes_nothing_and_deletes_only_its_images(
    world: World,
) -> None:
    job = world.submitted()
    outcome = world.run(job.id, StallingGenerator(world, ScriptedGenerator()))
    assert outcome.status is None  # attempt 1 woke after attempt 2 had succeeded
    done = world.jobs.jobs[job.id]
    assert done.status is JobStatus.SUCCEEDED
    assert done.attempts == 2
    assert {image.attempt for image in done.images} == {2}
    assert all(world.images.get(job.id, 2, image.index) for image in done.images)
    assert not [k for k in world.images.data if k[1] == 1]  # attempt 1's bytes are gone
    assert world.quota.balances[job.owner] == 8


def test_sweeper_enqueues_a_job_the_api_never_enqueued(world: World) -> None:
    job = world.submitted()
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
    def put(self, job_id, attempt, index, image):  # type: ignore[no-untyped-def]
        raise OSError("disk gone")


def test_a_store_failure_retries_then_fails_and_refunds(world: World) -> None:
    job = world.submitted()
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


class RenewingLeases(NoLeases):
    """Leases whose renewal asks the ledger, as ThreadLeaseKeeper's thread does."""

    def __init__(self, ledger: MemoryLedger, clock: FrozenClock) -> None:
        self.ledger, self.clock = ledger, clock

    def lost(self, job_id: str, attempt: int) -> bool:
        return (job_id, attempt) in self.ledger.renew([(job_id, attempt)], self.clock.now(), 30)


class CanceledMidway(ScriptedGenerator):
    """The owner cancels the running job while its images are being generated."""

    def __init__(self, jobs: MemoryJobs, owner: str) -> None:
        super().__init__()
        self.jobs, self.owner = jobs, owner

    def generate(self, request: ImageRequest, *, user: str) -> list[GeneratedImage]:
        (job_id,) = self.jobs.jobs
        job = self.jobs.jobs[job_id]
        self.jobs.jobs[job_id] = job.evolve(status=JobStatus.CANCELED)
        return super().generate(request, user=user)


class CountingImages(MemoryImages):
    def __init__(self) -> None:
        super().__init__()
        self.puts = 0

    def put(self, job_id: str, attempt: int, index: int, image: GeneratedImage) -> StoredImage:
        self.puts += 1
        return super().put(job_id, attempt, index, image)


def test_a_job_canceled_while_running_is_abandoned_and_stores_nothing(world: World) -> None:
    job = world.submitted()
    world.images = images = CountingImages()
    outcome = RunGeneration(
        ledger=world.ledger, generator=CanceledMidway(world.jobs, OWNER), store=images,
        refunder=MemoryRefunder(world.quota), leases=RenewingLeases(world.ledger, world.clock),
        dispatcher=world.queue, clock=world.clock, policy=POLICY,
    )(job.id)  # fmt: skip
    assert outcome.status is None
    assert images.puts == 0  # not even stored and deleted again
    assert world.jobs.jobs[job.id].status is JobStatus.CANCELED
