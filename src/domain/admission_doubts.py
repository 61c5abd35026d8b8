"""Submits answered 503 whose admission may have happened all the same.

The local admission charges the key and records the job in one script. If the store goes away
after running it but before its reply arrives, the API cannot tell "not charged" from "charged
and queued": it answers 503, and a caller who trusts that and retries would pay twice. So the
draft's job id is kept here, and once the store answers again the job, if it was recorded, is
withdrawn (ended `canceled`) and refunded. A 503 then costs nothing, as it says.

Held in this process's memory for `keep`: a process that dies first leaves such a job to run
(charged once, for a job its caller was told was refused). A job a worker already finished in
the meantime stays as it is, charged for the images it made.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from domain.errors import QuotaUnavailable, StoreUnavailable
from domain.ports import Clock, JobStore, QuotaProvider
from domain.refunds import refund_job_via_api

log = logging.getLogger("imagegate.domain")


@dataclass
class DoubtfulAdmissions:
    jobs: JobStore
    quota: QuotaProvider
    clock: Clock
    keep: timedelta = timedelta(minutes=10)
    _pending: dict[str, datetime] = field(default_factory=dict)

    def doubt(self, job_id: str) -> None:
        """The admission of `job_id` failed without a definite answer."""
        self._pending.setdefault(job_id, self.clock.now())

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def __call__(self) -> int:
        """Settle what can be settled now (the API runs this periodically); how many settled."""
        settled = 0
        for job_id, since in list(self._pending.items()):
            now = self.clock.now()
            if now - since > self.keep:
                del self._pending[job_id]
                log.warning("gave up withdrawing %s: the store stayed away", job_id)
                continue
            try:
                job = await self.jobs.withdraw(job_id, now)
            except (StoreUnavailable, QuotaUnavailable):
                return settled  # still away: the next round tries again
            del self._pending[job_id]
            settled += 1
            if job is None:
                continue
            log.warning("withdrew %s: its submit was answered 503", job_id)
            try:
                await refund_job_via_api(job, jobs=self.jobs, quota=self.quota)
            except (StoreUnavailable, QuotaUnavailable):  # owed still: the sweeper refunds it
                log.warning("refund of withdrawn %s left to the sweeper", job_id)
        return settled
