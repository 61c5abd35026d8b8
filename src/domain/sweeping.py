"""The sweeper's use case: recover from crashes anywhere — lost workers, an API that died before
enqueueing, refunds that could not be made. Safe to run concurrently and repeatedly: every step
is atomic in the ledger."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from domain.generation import WorkerPolicy
from domain.models import JobStatus
from domain.ports import Clock, CreditRefunder, JobDispatcher, JobTransitions, LedgerDeadlines
from domain.refunds import refund_job

log = logging.getLogger("imagegate.domain")


@dataclass
class SweepReport:
    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)
    refunded: list[str] = field(default_factory=list)
    past_deadline: list[str] = field(default_factory=list)  # aborted or canceled by it

    def __bool__(self) -> bool:
        return bool(
            self.requeued or self.failed or self.enqueued or self.refunded or self.past_deadline
        )


@dataclass(frozen=True)
class Sweep:
    ledger: JobTransitions
    dispatcher: JobDispatcher
    refunder: CreditRefunder
    clock: Clock
    policy: WorkerPolicy
    grace: timedelta
    limit: int = 100
    deadlines: LedgerDeadlines | None = None

    def __call__(self) -> SweepReport:
        ledger, limit = self.ledger, self.limit
        report = SweepReport()
        now = self.clock.now()
        for job in self.deadlines.expire_deadlines(now, limit) if self.deadlines else ():
            report.past_deadline.append(job.id)  # refunded below with the other owed ones
        for job in ledger.reclaim_expired(now, max_attempts=self.policy.max_attempts, limit=limit):
            if job.status is JobStatus.FAILED:
                report.failed.append(job.id)
            else:
                report.requeued.append(job.id)
        # Reclaimed jobs sit in the outbox already; enqueue them now rather than after the grace.
        for job_id in [*report.requeued, *ledger.unenqueued(now - self.grace, limit)]:
            self.dispatcher.dispatch(job_id)
            ledger.mark_enqueued(job_id)
            if job_id not in report.requeued:
                report.enqueued.append(job_id)
        ended_now = report.failed or report.past_deadline
        due = ledger.refunds_due(now if ended_now else now - self.grace, limit)
        for job in due:
            try:
                if refund_job(job, ledger=ledger, refunder=self.refunder):
                    report.refunded.append(job.id)
            except Exception:
                log.warning("job %s: refund still failing", job.id, exc_info=True)
        return report
