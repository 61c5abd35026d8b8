"""Giving a job's credits back, at most once whatever retries or crashes."""

from __future__ import annotations

from domain.models import Job
from domain.ports import CreditRefunder, JobStore, JobTransitions, QuotaProvider


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


async def refund_job_via_api(job: Job, *, jobs: JobStore, quota: QuotaProvider) -> int:
    """`refund_job` on the API side (async ports): claim, refund, owe it again on failure."""
    amount = await jobs.claim_refund(job.id)
    if not amount:
        return 0
    try:
        await quota.refund(job.owner, amount, job_id=job.id)
    except Exception:
        await jobs.release_refund(job.id)
        raise
    return amount
