"""Thin Celery tasks: take a job id, call the use case, own only the retry policy."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from celery import Celery, Task

from domain.services import run_generation
from worker.celery_app import GENERATE_TASK
from worker.deps import WorkerDeps

log = logging.getLogger("imagegate.worker")


def backoff(retries: int) -> float:
    """Exponential backoff with full jitter: ~1 s, 2 s, 4 s … capped at 60 s."""
    return float(min(60.0, 2.0**retries) * (0.5 + random.random() / 2))


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
            clock=d.clock,
            max_attempts=d.max_attempts,
            may_retry=self.request.retries < max_retries,
        )
        log.info(
            "job %s: %s",
            job_id,
            outcome.status.value if outcome.status else "skipped",
            extra={"job_id": job_id},
        )
        if outcome.retry:
            countdown = outcome.retry_after
            if countdown is None:
                countdown = backoff(self.request.retries)
            raise self.retry(countdown=countdown)
