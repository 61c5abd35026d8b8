"""A submit answered 503 whose admission ran anyway (its reply lost with the store) is
withdrawn and refunded once the store answers: a 503 costs nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from domain.admission import ChargeThenRecord
from domain.admission_doubts import DoubtfulAdmissions
from domain.api_jobs import SubmitGeneration
from domain.api_keys import MintKey
from domain.errors import QuotaUnavailable, StoreUnavailable
from domain.models import Charge, ImageRequest, Job, JobDraft, JobStatus, Plan, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryJobs, MemoryQueue, MemoryQuota

pytestmark = pytest.mark.anyio
PLAN = Plan.build(10, RefillInterval.DAILY, 10)
REQUEST = ImageRequest(prompt="p", model="placeholder")


class LostReply(ChargeThenRecord):
    """Charges and records, then fails as a store that went away before answering would."""

    async def admit(self, key: str, draft: JobDraft) -> tuple[Charge, Job | None]:
        await super().admit(key, draft)
        raise QuotaUnavailable()


class AwayJobs(MemoryJobs):
    away = True

    async def withdraw(self, job_id: str, now: datetime) -> Job | None:
        if self.away:
            raise StoreUnavailable()
        return await super().withdraw(job_id, now)


async def test_a_job_admitted_behind_a_503_is_withdrawn_and_refunded_once_the_store_is_back() -> (
    None
):
    quota, jobs, clock = MemoryQuota(), AwayJobs(), FrozenClock()
    key = (await MintKey(quota, PLAN)()).key
    doubts = DoubtfulAdmissions(jobs, quota, clock)
    submit = SubmitGeneration(
        LostReply(quota, jobs), quota, jobs, MemoryQueue(), clock,
        job_ttl=timedelta(hours=1), default_model="placeholder", doubts=doubts,
    )  # fmt: skip
    with pytest.raises(QuotaUnavailable):
        await submit(key, REQUEST)
    (job,) = jobs.jobs.values()
    assert job.status is JobStatus.QUEUED and list(quota.balances.values()) == [9]
    assert await doubts() == 0 and doubts.pending == 1  # the store is still away
    jobs.away = False
    assert await doubts() == 1 and doubts.pending == 0
    assert jobs.jobs[job.id].status is JobStatus.CANCELED
    assert list(quota.balances.values()) == [10]
    assert await doubts() == 0  # nothing left: refunded once
    assert list(quota.balances.values()) == [10]


async def test_a_doubt_about_a_job_never_recorded_settles_with_nothing_to_refund() -> None:
    quota, jobs, clock = MemoryQuota(), MemoryJobs(), FrozenClock()
    doubts = DoubtfulAdmissions(jobs, quota, clock)
    doubts.doubt("job_never_recorded")
    assert await doubts() == 1
    assert quota.refunds == [] and doubts.pending == 0


async def test_a_job_that_already_ended_keeps_its_charge() -> None:
    quota, jobs, clock = MemoryQuota(), MemoryJobs(), FrozenClock()
    key = (await MintKey(quota, PLAN)()).key
    _, job = await ChargeThenRecord(quota, jobs).admit(
        key, JobDraft.new(request=REQUEST, now=clock.now(), ttl=timedelta(hours=1), charged=1)
    )
    assert job is not None
    jobs.jobs[job.id] = job.evolve(status=JobStatus.SUCCEEDED)
    doubts = DoubtfulAdmissions(jobs, quota, clock)
    doubts.doubt(job.id)
    assert await doubts() == 1
    assert jobs.jobs[job.id].status is JobStatus.SUCCEEDED and quota.refunds == []


async def test_a_doubt_is_dropped_after_keep() -> None:
    quota, clock = MemoryQuota(), FrozenClock()
    jobs = AwayJobs()
    doubts = DoubtfulAdmissions(jobs, quota, clock, keep=timedelta(minutes=1))
    doubts.doubt("job_x")
    clock.advance(minutes=2)
    assert await doubts() == 0 and doubts.pending == 0


class RefundsDown(MemoryQuota):
    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        raise QuotaUnavailable()


async def test_a_refund_that_fails_stays_owed_and_the_other_doubts_still_settle() -> None:
    quota, jobs, clock = RefundsDown(), MemoryJobs(), FrozenClock()
    key = (await MintKey(quota, PLAN)()).key
    admit = ChargeThenRecord(quota, jobs).admit
    drafts = [
        JobDraft.new(request=REQUEST, now=clock.now(), ttl=timedelta(hours=1), charged=1)
        for _ in range(2)
    ]
    for draft in drafts:
        await admit(key, draft)
    doubts = DoubtfulAdmissions(jobs, quota, clock)
    for draft in drafts:
        doubts.doubt(draft.id)
    assert await doubts() == 2 and doubts.pending == 0
    for draft in drafts:
        assert jobs.jobs[draft.id].status is JobStatus.CANCELED
        assert draft.id not in jobs.refund_claimed  # released: owed for the sweeper
