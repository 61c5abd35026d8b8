"""The general JobAdmission, for any quota provider: charge the key, then record the job."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from domain.errors import StoreUnavailable
from domain.models import Charge, Job, JobDraft
from domain.ports import JobStore, QuotaProvider

log = logging.getLogger("imagegate.domain")


@dataclass(frozen=True, slots=True)
class ChargeThenRecord:
    """Charge, then record; a job that cannot be recorded is refunded at once. (The local
    quota store does both in one atomic step instead: adapters/redis_admission.py.)"""

    quota: QuotaProvider
    jobs: JobStore

    async def admit(self, key: str, draft: JobDraft) -> tuple[Charge, Job | None]:
        charge = await self.quota.charge(key, draft.charged)
        if not charge.accepted or charge.key_id is None:
            return charge, None
        job = draft.owned_by(charge.key_id)
        try:
            await self.jobs.add(job)
        except Exception as exc:
            log.warning("recording job failed, refunding %s credits: %r", job.charged, exc)
            await refund_quietly(self.quota, charge.key_id, job.charged)
            raise StoreUnavailable() from None
        return charge, job


async def refund_quietly(quota: QuotaProvider, key_id: str, amount: int) -> None:
    """A refund on a path that is already failing: log it, never mask the first error."""
    try:
        await quota.refund(key_id, amount)
    except Exception:
        log.exception("refund of %s credits to %s failed", amount, key_id)
