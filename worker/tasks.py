"""Thin Celery tasks: take a job id, call the use case, own only the retry policy."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery, Task

from domain.generation import run_generation
from worker.celery_app import GENERATE_TASK
from worker.deps import WorkerDeps

log = logging.getLogger("imagegate.worker")


def register_tasks(app: Celery, deps: Callable[[], WorkerDeps], *, max_retries: int) -> None:
    @app.task(  # type: ignore[untyped-decorator]
        name=GENERATE_TASK, bind=True, max_retries=max_retries, ignore_result=True
    )
    def generate(self: Task, job_id: str) -> None:
        d = deps()
        outcome = run_generation(
            job_id,
            ledger=d.ledger,
            generator=d.generator,
            store=d.store,
            refunder=d.refunder,
            leases=d.leases,
            clock=d.clock,
            policy=d.policy,
            may_retry=self.request.retries < max_retries,
        )
        status = outcome.status.value if outcome.status else "skipped"
        log.info("job %s: %s", job_id, status, extra={"job_id": job_id})
        if outcome.retry:
            raise self.retry(countdown=outcome.retry_after)
