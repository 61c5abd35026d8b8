"""Kick the webhook consumer: one `deliver_webhooks` message on its queue, asking for a pass.

The message carries nothing (the pass reads what is due from the delivery log) and expires, so
a backlog of kicks from a time the consumer was down is dropped rather than replayed. A kick is
best effort: the sweeper's tick asks for a pass anyway, so a failed publish is only logged.
Used by the workers (a job's events are noted) and by the API (a redelivery, an operator alert),
which publishes off its event loop.
"""

from __future__ import annotations

import asyncio
import logging

from celery import Celery

log = logging.getLogger("imagegate.webhooks")

KICK_EXPIRES_SECONDS = 60  # the sweeper ticks far more often: an older kick is news to nobody


class CeleryWebhookKick:
    def __init__(
        self,
        app: Celery,
        *,
        task_name: str,
        queue: str,
        expires_seconds: int = KICK_EXPIRES_SECONDS,
    ) -> None:
        self._app = app
        self._task_name = task_name
        self._queue = queue
        self._expires = expires_seconds

    def kick_sync(self) -> None:
        try:
            self._app.send_task(self._task_name, queue=self._queue, expires=self._expires)
        except Exception as exc:
            log.warning("could not kick the webhook queue: %r", exc)

    async def kick(self) -> None:
        await asyncio.to_thread(self.kick_sync)
