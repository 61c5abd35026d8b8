"""The transition scripts' webhook notes (`<prefix>:webhook_events`, see lib_webhook_event.lua):
the `JobEventNotes` port of `domain.webhook_jobs`."""

from __future__ import annotations

from collections.abc import Sequence

import redis

from adapters.redis_ops import text
from domain.webhook_jobs import JobEventNote


class RedisJobEventNotes:
    def __init__(self, client: redis.Redis, *, prefix: str = "ig") -> None:
        self._redis = client
        self._key = f"{prefix}:webhook_events"

    def pending(self, limit: int) -> Sequence[JobEventNote]:
        return [
            JobEventNote.parse(text(raw)) for raw in self._redis.zrange(self._key, 0, limit - 1)
        ]

    def forget(self, note: JobEventNote) -> None:
        self._redis.zrem(self._key, note.raw)
