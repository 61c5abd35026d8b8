"""The worker side's JobDispatcher over Celery: sends a job id to the workers by task name, now
(the sweeper) or after a countdown (a retry). The message carries the job id only; whether and
how often a job runs is the job record's business (its `attempts`), never Celery's."""

from __future__ import annotations

from celery import Celery


class CeleryDispatcher:
    def __init__(self, app: Celery, *, task_name: str, queue: str) -> None:
        self._app = app
        self._task_name = task_name
        self._queue = queue

    def dispatch(self, job_id: str, *, countdown: float = 0) -> None:
        self._app.send_task(
            self._task_name, args=[job_id], queue=self._queue, countdown=countdown or None
        )
