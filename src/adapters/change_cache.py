"""A short-lived in-process cache of values read from Redis, kept honest by the job change
notifications (adapters/redis_job_changes.py), with one shared read per key in flight.

Why: a poll, and every waiter woken by a change, reads its job. A thousand streams of one job
woken at once need one read, not a thousand, and a poll of a job that has not changed need
not reach Redis at all. A value is served only while it is younger than `ttl` and the change
subscription is up; a change notification drops it at once; a lost subscription drops all of
them and turns the cache off until it is back (no notification can be trusted meanwhile).

The race that matters: a read starts, the value changes (version v → v+1, notified, dropped
here), then the read returns the old v. Every read takes a ticket — a sequence number — when
it starts; a notification records the sequence number it arrived at and the version it
announced. A read is stored only if nothing invalidated its key after its ticket, or if
what it read is at least the version announced since. A read that took longer than `ttl`, or
whose key's invalidation was forgotten (the size cap), is never stored.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")

DEFAULT_TTL_SECONDS = 1.0
DEFAULT_MAX_ENTRIES = 10_000


class _Flight(Generic[V]):
    __slots__ = ("tag", "task", "ticket")

    def __init__(self, task: asyncio.Future[V | None], tag: Hashable, ticket: int) -> None:
        self.task, self.tag, self.ticket = task, tag, ticket


class ChangeCache(Generic[V]):
    """Values by key (a job id), each with a version (`version_of`; None: unversioned)."""

    def __init__(
        self,
        version_of: Callable[[V], int | None],
        *,
        ttl: float = DEFAULT_TTL_SECONDS,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._version_of = version_of
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._values: OrderedDict[str, tuple[float, V]] = OrderedDict()  # stored at, value
        # key → (sequence number, announced version or None): the latest invalidation.
        self._dropped: OrderedDict[str, tuple[float, int, int | None]] = OrderedDict()
        self._flights: dict[str, _Flight[V]] = {}
        self._seq = 0
        self._forgotten = 0  # reads ticketed at or before this are never stored
        self.active = False  # on while the change subscription is up
        self.hits = self.misses = 0

    # --- what the change hub calls -------------------------------------------------------

    def invalidate(self, key: str, version: int | None = None) -> None:
        """The value of `key` changed (to `version`, when known)."""
        self._seq += 1
        now = self._clock()
        held = self._values.get(key)
        if held is not None and (version is None or self._older(held[1], version)):
            del self._values[key]
        earlier = self._dropped.get(key)
        if earlier is not None and version is not None:
            # Versions only grow, so the newer announcement covers the earlier one; an
            # unknown version (a local write) covers nothing: keep refusing older reads.
            version = None if earlier[2] is None else max(earlier[2], version)
        self._dropped[key] = (now, self._seq, version)
        self._dropped.move_to_end(key)
        self._flights.pop(key, None)  # later readers start a fresh read; earlier ones keep it
        self._trim(now)

    def clear(self) -> None:
        """Every value may have changed (the queue moved): drop them all."""
        self._seq += 1
        self._forgotten = self._seq
        self._values.clear()
        self._dropped.clear()
        self._flights.clear()

    def suspend(self) -> None:
        """The subscription is down: serve nothing, store nothing until `resume`."""
        self.active = False
        self.clear()

    def resume(self) -> None:
        """(Re)subscribed: changes made while we were away may be unseen, so start empty."""
        self.clear()
        self.active = True

    # --- what readers call ---------------------------------------------------------------

    async def get(
        self,
        key: str,
        read: Callable[[], Awaitable[V | None]],
        *,
        tag: Hashable = None,
        accept: Callable[[V], bool] = lambda _: True,
    ) -> V | None:
        """The value of `key`: cached, or the read in flight for the same `tag` (the same
        owner), or a new `read`. `accept` is checked on every cached or shared value (the
        owner check); a value it refuses is answered as None, as the store would."""
        if not self.active:
            return await read()
        now = self._clock()
        held = self._values.get(key)
        if held is not None and now - held[0] < self._ttl:
            self.hits += 1
            return held[1] if accept(held[1]) else None
        flight = self._flights.get(key)
        if flight is None or flight.tag != tag:
            flight = self._start(key, read, tag)
        self.misses += 1
        value = await asyncio.shield(flight.task)
        return value if value is None or accept(value) else None

    def _start(
        self, key: str, read: Callable[[], Awaitable[V | None]], tag: Hashable
    ) -> _Flight[V]:
        task: asyncio.Future[V | None] = asyncio.ensure_future(read())
        flight = _Flight(task, tag, self._seq)
        self._flights.setdefault(key, flight)
        started = self._clock()

        def settle(done: asyncio.Future[V | None]) -> None:
            if self._flights.get(key) is flight:
                del self._flights[key]
            if done.cancelled() or done.exception() is not None:
                return
            value = done.result()
            if value is not None and self._clock() - started < self._ttl:
                self.store(key, value, flight.ticket)

        task.add_done_callback(settle)
        return flight

    def ticket(self) -> int:
        """Take before a read whose result is then given to `store`."""
        return self._seq

    def store(self, key: str, value: V, ticket: int) -> bool:
        """Keep `value`, read after `ticket` was taken, unless something newer is known."""
        if not self.active or ticket < self._forgotten:
            return False
        dropped = self._dropped.get(key)
        if dropped is not None and dropped[1] > ticket:
            announced = dropped[2]
            if announced is None or self._older(value, announced):
                return False  # read before that change, and older than what it announced
        held = self._values.get(key)
        if held is not None and self._newer(held[1], value):
            return False
        now = self._clock()
        self._values[key] = (now, value)
        self._values.move_to_end(key)
        self._trim(now)
        return True

    def _older(self, value: V, version: int) -> bool:
        own = self._version_of(value)
        return own is None or own < version

    def _newer(self, held: V, value: V) -> bool:
        a, b = self._version_of(held), self._version_of(value)
        return a is not None and b is not None and a > b

    def _trim(self, now: float) -> None:
        while len(self._values) > self._max:
            self._values.popitem(last=False)
        # An invalidation is needed only while a read that started before it may return:
        # reads older than the ttl are never stored, so older invalidations can go.
        while self._dropped:
            key, (at, seq, _) = next(iter(self._dropped.items()))
            if now - at < self._ttl and len(self._dropped) <= self._max:
                break
            del self._dropped[key]
            self._forgotten = max(self._forgotten, seq)
