"""Thin Celery tasks: take a job id, call the use case. Retries are the use case's (it sends
the job again with a countdown); a task never calls Celery's `retry`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from celery import Celery

from entrypoints.celery_app import GENERATE_TASK
from worker.deps import WorkerDeps

log = logging.getLogger("imagegate.worker")


def register_tasks(app: Celery, deps: Callable[[], WorkerDeps]) -> None:
    @app.task(name=GENERATE_TASK, ignore_result=True)  # type: ignore[untyped-decorator]
    def generate(job_id: str) -> None:
        outcome = deps().run_generation(job_id)
        if outcome.status is not None and outcome.job is not None and outcome.job.webhook_url:
            deps().kick_webhooks()  # its events are noted: ask for them to be delivered now
        status = outcome.status.value if outcome.status else "skipped"
        log.info("job %s: %s", job_id, status, extra={"job_id": job_id})
