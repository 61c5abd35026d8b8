"""A hypothesis state machine over the real Redis adapters and the domain use cases:
submit / cancel / generation outcomes / lost workers / sweeps / refills, in any order.

Invariants after every step:
- no key goes below zero, and its balance is exactly what the model expects;
- credits charged - refunded = credits of jobs that ran or may still run: once a sweep has
  passed, no failed or canceled job keeps a credit;
- no job is refunded twice (the quota saw exactly the refunds the jobs record);
- the key's ledger entries sum to its balance (mint, priced charges, refunds, refills and an
  operator's top-ups, set and clamped decrements).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
import redis
import redis.asyncio as aioredis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    rule,
    run_state_machine_as_test,
)

from adapters.redis_jobs import RedisJobStore, RedisJobTransitions
from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_ledger import RedisCreditLedger
from adapters.redis_quota import RedisCreditRefunder, RedisQuotaProvider
from domain.admission import ChargeThenRecord
from domain.api_jobs import CancelJob, SubmitGeneration
from domain.errors import (
    ContentPolicyViolation,
    JobNotCancelable,
    QuotaExceeded,
    UpstreamUnavailable,
)
from domain.generation import RunGeneration, WorkerPolicy
from domain.models import ImageRequest, Job, JobStatus, Plan, Quality, RefillInterval
from domain.operators import CreditOperation
from domain.pricing import Pricing
from domain.sweeping import Sweep
from tests.fakes.clock import FrozenClock
from tests.fakes.memory import MemoryImages, MemoryQueue, NoLeases, ScriptedGenerator

PLAN = Plan.build(6, RefillInterval.DAILY, 6)
POLICY = WorkerPolicy(max_attempts=3, lease_seconds=30)
GRACE = timedelta(seconds=30)
PRICING = Pricing(quality={"low": Fraction(1), "high": Fraction(3, 2)})  # high: 1.5 → 2 an image


class CountingRefunder:
    def __init__(self, inner: RedisCreditRefunder) -> None:
        self.inner = inner
        self.total = 0

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        self.inner.refund(key_id, amount, job_id=job_id)
        self.total += amount


class CreditLedgerMachine(RuleBasedStateMachine):
    redis_url = ""
    jobs_bundle = Bundle("jobs")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.sync = redis.Redis.from_url(self.redis_url)
        self.sync.flushdb()
        self.clock = FrozenClock(datetime.now(UTC).replace(hour=12, minute=0))
        self.aredis = aioredis.Redis.from_url(self.redis_url)
        self.quota = RedisQuotaProvider(self.aredis, self.clock)
        self.admin = RedisKeyAdmin(self.aredis, self.clock)
        self.credit_ledger = RedisCreditLedger(self.aredis)
        self.jobs = RedisJobStore(self.aredis)
        self.ledger = RedisJobTransitions(self.sync)
        self.refunder = CountingRefunder(RedisCreditRefunder(self.sync))
        self.queue = MemoryQueue()
        self.images = MemoryImages()
        issued = self.run(self.quota.mint(PLAN))
        self.key, self.key_id = issued.key, issued.key_id
        self.expected_balance = PLAN.credits
        self.job_ids: list[str] = []
        self.api_refunds = 0
        self.swept = False  # True right after a sweep, until the next rule

    def run(self, coro):  # type: ignore[no-untyped-def]
        return self.loop.run_until_complete(coro)

    def teardown(self) -> None:
        self.run(self.aredis.aclose())
        self.loop.close()
        self.sync.close()

    def all_jobs(self) -> list[Job]:
        jobs = [self.ledger.get(job_id) for job_id in self.job_ids]
        return [job for job in jobs if job is not None]

    def refunded_total(self) -> int:
        return sum(job.refunded for job in self.all_jobs())

    def track_refunds(self, before: int) -> None:
        self.expected_balance += self.refunded_total() - before

    @property
    def submit_generation(self) -> SubmitGeneration:
        return SubmitGeneration(
            ChargeThenRecord(self.quota, self.jobs), self.quota, self.jobs, self.queue,
            self.clock, job_ttl=timedelta(days=30), default_model="placeholder", pricing=PRICING,
        )  # fmt: skip

    def submit_coro(self, request: ImageRequest):  # type: ignore[no-untyped-def]
        return self.submit_generation(self.key, request)

    # --- rules -------------------------------------------------------------------------

    @rule(target=jobs_bundle, n=st.integers(1, 4), quality=st.sampled_from(["low", "high"]))
    def submit(self, n: int, quality: str) -> str:
        self.swept = False
        request = ImageRequest(prompt="p", n=n, quality=Quality(quality), model="placeholder")
        cost = n * (2 if quality == "high" else 1)
        try:
            submitted = self.run(self.submit_generation(self.key, request))
        except QuotaExceeded:
            assert self.expected_balance < cost
            return "refused"
        assert self.expected_balance >= cost and submitted.job.charged == cost
        self.expected_balance -= cost
        self.job_ids.append(submitted.job.id)
        return submitted.job.id

    @rule(job_id=jobs_bundle)
    def cancel(self, job_id: str) -> None:
        if job_id == "refused":
            return
        before = self.refunded_total()
        try:
            job = self.run(
                CancelJob(self.jobs, self.quota, self.clock)(job_id, owner=self.key_id)
            )  # fmt: skip
            assert job.status is JobStatus.CANCELED
            self.api_refunds += job.charged
        except JobNotCancelable:
            pass
        self.track_refunds(before)

    @rule(job_id=jobs_bundle, outcome=st.sampled_from(["ok", "transient", "permanent"]))
    def deliver(self, job_id: str, outcome: str) -> None:
        """A worker receives the job's message and the upstream answers `outcome`."""
        self.swept = False
        if job_id == "refused":
            return
        errors = {"ok": [], "transient": [UpstreamUnavailable()], "permanent": [
            ContentPolicyViolation()]}[outcome]  # fmt: skip
        before = self.refunded_total()
        RunGeneration(
            ledger=self.ledger, generator=ScriptedGenerator(list(errors)), store=self.images,
            refunder=self.refunder, leases=NoLeases(), dispatcher=self.queue, clock=self.clock,
            policy=POLICY,
        )(job_id)  # fmt: skip
        self.track_refunds(before)

    @rule(job_id=jobs_bundle)
    def lose_worker(self, job_id: str) -> None:
        """A worker claims the job and dies without a word."""
        self.swept = False
        if job_id != "refused":
            self.ledger.start(
                job_id, self.clock.now(), max_attempts=POLICY.max_attempts,
                lease_seconds=POLICY.lease_seconds,
            )  # fmt: skip

    @rule()
    def sweep_later(self) -> None:
        self.clock.advance(seconds=POLICY.lease_seconds + GRACE.total_seconds() + 1)
        before = self.refunded_total()
        Sweep(
            ledger=self.ledger, dispatcher=self.queue, refunder=self.refunder, clock=self.clock,
            policy=POLICY, grace=GRACE,
        )()  # fmt: skip
        self.track_refunds(before)
        self.swept = True
        # Once a sweep has passed, no failed or canceled job keeps a credit.
        for job in self.all_jobs():
            if job.status in (JobStatus.FAILED, JobStatus.CANCELED):
                assert job.refunded == job.charged, job

    @rule()
    def refill(self) -> None:
        tomorrow = (self.clock.now() + timedelta(days=1)).replace(hour=0, minute=0, second=1)
        self.clock.set(tomorrow)
        amount = PLAN.refill.amount if PLAN.refill else 0
        self.expected_balance = max(self.expected_balance, amount)

    @rule(
        operation=st.sampled_from(list(CreditOperation)), value=st.integers(0, 8),
    )  # fmt: skip
    def operator_changes_credits(self, operation: CreditOperation, value: int) -> None:
        """An operator's top-up, set or (clamped) decrement, between any two steps."""
        self.swept = False
        change = self.run(self.admin.update_credits(self.key_id, operation, value))
        assert change is not None and change.before == self.expected_balance
        self.expected_balance = {
            CreditOperation.SET: value,
            CreditOperation.INCREMENT: self.expected_balance + value,
            CreditOperation.DECREMENT: max(0, self.expected_balance - value),
        }[operation]

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def the_ledger_sums_to_the_balance(self) -> None:
        entries = self.run(self.credit_ledger.between(self.key_id, None, None))
        assert sum(entry.credits for entry in entries) == self.expected_balance

    @invariant()
    def balance_matches_the_model_and_never_goes_negative(self) -> None:
        info = self.run(self.quota.describe(self.key))
        assert info is not None
        assert info.remaining is not None
        assert info.remaining >= 0
        assert info.remaining == self.expected_balance

    @invariant()
    def only_jobs_that_ran_or_may_run_keep_their_credits(self) -> None:
        for job in self.all_jobs():
            assert job.refunded in (0, job.charged)
            if job.status not in (JobStatus.FAILED, JobStatus.CANCELED):
                assert job.refunded == 0, job
        if self.swept:
            # Refunds owed by failed jobs are made by the next sweep at the latest.
            spent = sum(job.charged - job.refunded for job in self.all_jobs())
            ran_or_may_run = sum(
                job.charged
                for job in self.all_jobs()
                if job.status in (JobStatus.SUCCEEDED, JobStatus.QUEUED, JobStatus.RUNNING)
            )
            assert spent == ran_or_may_run

    @invariant()
    def no_job_is_refunded_twice(self) -> None:
        assert self.refunder.total + self.api_refunds == self.refunded_total()


@pytest.mark.timeout(300)
def test_credit_ledger_state_machine(redis_url: str) -> None:
    CreditLedgerMachine.redis_url = redis_url
    run_state_machine_as_test(
        CreditLedgerMachine,
        settings=settings(
            max_examples=100,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
