"""Deadlines are enforced from both sides, so they hold even while no worker is alive: each API
process runs `EnforceDeadlines` about once a second, and the workers' sweeper does the same
through `Sweep`. Ending a job is one atomic step in the store (queued → aborted, running →
canceled, `error.code` deadline_exceeded), and the refund is claimed once, whoever gets there
first; a refund that fails stays owed for the sweeper."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from domain.models import Job
from domain.ports import Clock, JobDeadlines, JobStore, QuotaProvider
from domain.refunds import refund_job_via_api

log = logging.getLogger("imagegate.domain")


@dataclass(frozen=True, slots=True)
class EnforceDeadlines:
    deadlines: JobDeadlines
    jobs: JobStore
    quota: QuotaProvider
    clock: Clock
    limit: int = 100

    async def __call__(self) -> Sequence[Job]:
        ended = await self.deadlines.expire_deadlines(self.clock.now(), self.limit)
        for job in ended:
            log.info("job %s passed its deadline: %s", job.id, job.status.value)
            try:
                await refund_job_via_api(job, jobs=self.jobs, quota=self.quota)
            except Exception:  # owed still: the sweeper retries it
                log.warning("job %s: deadline refund failed", job.id, exc_info=True)
        return ended
