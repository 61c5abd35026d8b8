"""JobQueue over Celery: publishes the job id (and nothing else) by task name."""

from __future__ import annotations

import asyncio

from celery import Celery


class CeleryJobQueue:
    def __init__(self, app: Celery, *, task_name: str, queue: str) -> None:
        self._app = app
        self._task_name = task_name
        self._queue = queue

    def enqueue_sync(self, job_id: str) -> None:
        self._app.send_task(self._task_name, args=[job_id], queue=self._queue)

    async def enqueue(self, job_id: str) -> None:
        # kombu publishes synchronously; keep it off the event loop.
        await asyncio.to_thread(self.enqueue_sync, job_id)

    def _ping_sync(self) -> None:
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)

    async def ping(self) -> None:
        await asyncio.to_thread(self._ping_sync)
