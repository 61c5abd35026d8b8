"""Per-key caps on what one API process holds at once.

Two caps, because the two kinds of request cost different things: a waiter (SSE, `Prefer:
wait`) holds no Redis connection while it sleeps, so its cap is high (`MAX_WAITERS_PER_KEY`);
any other request holds a pooled connection while it runs, so one key gets a few dozen at a
time and cannot starve the others. Both are in-process counts: a key spread over several API
processes gets the cap in each, which is the point — the cap protects the process.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from domain.errors import RateLimited, TooManyRequests

DEFAULT_MAX_WAITERS_PER_KEY = 5_000
DEFAULT_MAX_REQUESTS_PER_KEY = 32


class KeySlots:
    """Counts what each key holds and refuses past `limit` with `error` (a 429 error class)."""

    def __init__(self, limit: int, error: type[RateLimited]) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._error = error
        self._held: dict[str, int] = {}

    def held(self, key_id: str) -> int:
        return self._held.get(key_id, 0)

    @contextmanager
    def hold(self, key_id: str) -> Iterator[None]:
        count = self._held.get(key_id, 0)
        if count >= self.limit:
            raise self._error(retry_after=1)
        self._held[key_id] = count + 1
        try:
            yield
        finally:
            left = self._held[key_id] - 1
            if left:
                self._held[key_id] = left
            else:
                del self._held[key_id]  # idle keys cost nothing


class KeyConcurrencyLimiter:
    """At most `limit` concurrent non-waiting requests per key in this process; the next one
    is refused at once (429 `too_many_requests`) rather than queued, so a flood from one key
    never delays another's."""

    def __init__(
        self, limit: int = DEFAULT_MAX_REQUESTS_PER_KEY, error: type[RateLimited] = TooManyRequests
    ) -> None:
        self._slots = KeySlots(limit, error)

    @property
    def limit(self) -> int:
        return self._slots.limit

    def in_flight(self, key_id: str) -> int:
        return self._slots.held(key_id)

    @asynccontextmanager
    async def slot(self, key_id: str) -> AsyncIterator[None]:
        with self._slots.hold(key_id):
            yield
