"""Giving a job's credits back, at most once whatever retries or crashes."""

from __future__ import annotations

from domain.models import Job
from domain.ports import CreditRefunder, JobTransitions


def refund_job(job: Job, *, ledger: JobTransitions, refunder: CreditRefunder) -> int:
    """Claim the refund in the ledger, then make it; owe it again if making it failed."""
    amount = ledger.claim_refund(job.id)
    if not amount:
        return 0
    try:
        refunder.refund(job.owner, amount, job_id=job.id)
    except Exception:
        ledger.release_refund(job.id)
        raise
    return amount
