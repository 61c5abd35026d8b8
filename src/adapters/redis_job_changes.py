"""Job change notifications over Redis pub/sub: one subscription per API process.

Every job transition PUBLISHes a small payload on one channel, `<prefix>:jobs:changed`, from
inside the same Lua step that makes the change:

    {"job_id": "job_…", "version": 7}                  a job changed; 7 is its new version
    {"job_id": "job_…", "version": 8, "dequeued": 1}   … and it left the queue (claimed,
                                                       canceled, aborted), so every job
                                                       behind it moved up one place

In Lua: `redis.call('PUBLISH', KEYS[n], cjson.encode({job_id = id, version = v}))`.

`RedisJobChanges` holds the one subscription and wakes the local waiters of the job named;
waiters hold no Redis connection and cost no command while they sleep, so a process holds
thousands. A lost subscription is retried with capped, jittered backoff, and on every
(re)subscription every waiter is woken to re-read its job: a change published while we were
not listening is then seen anyway. A silent resubscription by redis-py itself shows up as a
second `subscribe` confirmation and is treated the same way; a connection that dies without
a FIN is caught by a PING when the channel has been quiet for `ping_interval` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from adapters.background import BackgroundTask
from domain.errors import TooManyWaiters
from domain.job_changes import Wake
from domain.key_limits import DEFAULT_MAX_WAITERS_PER_KEY, KeySlots

log = logging.getLogger("imagegate.changes")


def changes_channel(prefix: str = "ig") -> str:
    return f"{prefix}:jobs:changed"


def encode_change(job_id: str, version: int, *, dequeued: bool = False) -> str:
    payload: dict[str, Any] = {"job_id": job_id, "version": version}
    if dequeued:
        payload["dequeued"] = 1
    return json.dumps(payload, separators=(",", ":"))


def decode_change(raw: bytes | str) -> tuple[str, int, bool] | None:
    """(job_id, version, dequeued), or None for a payload we do not understand."""
    try:
        payload = json.loads(raw)
        job_id, version = payload["job_id"], payload["version"]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(job_id, str) or not isinstance(version, int):
        return None
    return job_id, version, bool(payload.get("dequeued"))


async def publish_change(
    client: aioredis.Redis, job_id: str, version: int, *, prefix: str = "ig", dequeued: bool = False
) -> int:
    """What the Lua scripts do inside their atomic step; for tests and tools."""
    return int(
        await client.publish(
            changes_channel(prefix), encode_change(job_id, version, dequeued=dequeued)
        )
    )


class ChangeListener(Protocol):
    """Told of every change the hub hears and of the subscription's ups and downs (the job
    cache, adapters/cached_jobs.py): between `unsubscribed` and `subscribed` nothing can be
    trusted to be current."""

    def job_changed(self, job_id: str, version: int, dequeued: bool) -> None: ...

    def subscribed(self) -> None: ...

    def unsubscribed(self) -> None: ...


def _time_out(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Waiter:
    # A bare future and a timer rather than `wait_for(event.wait())`: that wraps every wait in
    # a Task of its own, which is most of what a wake-up costs when thousands wake at once.
    __slots__ = ("_future", "_pending", "_queue_moved", "_queue_watchers", "_resubscribed",
                 "_version", "job_id")  # fmt: skip

    def __init__(self, job_id: str, queue_watchers: set[_Waiter]) -> None:
        self.job_id = job_id
        self._queue_watchers = queue_watchers  # the hub's: a queue move wakes only these
        self._future: asyncio.Future[None] | None = None
        self._pending = False
        self._version: int | None = None
        self._queue_moved = False
        self._resubscribed = False

    def watch_queue(self, on: bool) -> None:
        if on:
            self._queue_watchers.add(self)
        else:
            self._queue_watchers.discard(self)

    def note(self, version: int | None = None, *, queue: bool = False, resub: bool = False) -> None:
        if version is not None and (self._version is None or version > self._version):
            self._version = version
        self._queue_moved |= queue
        self._resubscribed |= resub
        self._pending = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    async def changed(self, within: float | None) -> Wake | None:
        if not self._pending:
            loop = asyncio.get_running_loop()
            future = self._future = loop.create_future()
            timer = None if within is None else loop.call_later(within, _time_out, future)
            try:
                await future
            finally:
                self._future = None
                if timer is not None:
                    timer.cancel()
            if not self._pending:
                return None  # timed out
        wake = Wake(self._version, self._queue_moved, self._resubscribed)
        self._pending = False
        self._version, self._queue_moved, self._resubscribed = None, False, False
        return wake


class RedisJobChanges:
    """The process's subscription to job changes and its local waiters.

    Give it a client of its own (`adapters.redis_pool.subscriber_client`): the subscription
    keeps one connection for the life of the process.
    """

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        prefix: str = "ig",
        max_waiters_per_key: int = DEFAULT_MAX_WAITERS_PER_KEY,
        ping_interval: float = 15.0,
        ping_timeout: float = 5.0,
        backoff_base: float = 0.1,
        backoff_max: float = 5.0,
        listeners: Sequence[ChangeListener] = (),
    ) -> None:
        self._client = client
        self._listeners = tuple(listeners)
        self.channel = changes_channel(prefix)
        self._slots = KeySlots(max_waiters_per_key, TooManyWaiters)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._backoff = (backoff_base, backoff_max)
        self._by_job: dict[str, set[_Waiter]] = {}
        self._queue_watchers: set[_Waiter] = set()
        self._subscribed = asyncio.Event()
        self._task = BackgroundTask("job-changes", self._run)
        self.subscriptions = 0  # how many times we (re)subscribed: 1 in a healthy life

    @property
    def waiting(self) -> int:
        return sum(len(waiters) for waiters in self._by_job.values())

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def start(self, ready_timeout: float = 5.0) -> None:
        """Start listening; wait up to `ready_timeout` for the first subscription. Past that
        the hub keeps retrying in the background (waiters still work: they time out, and are
        all woken once it subscribes)."""
        self._task.start()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), ready_timeout)

    async def aclose(self) -> None:
        await self._task.aclose()
        self._unsubscribed()
        self._wake_all()  # let every waiter re-read and finish rather than sleep to its timeout

    @contextlib.asynccontextmanager
    async def waiter(self, job_id: str, key_id: str) -> AsyncIterator[_Waiter]:
        with self._slots.hold(key_id):
            waiter = _Waiter(job_id, self._queue_watchers)
            self._by_job.setdefault(job_id, set()).add(waiter)
            try:
                yield waiter
            finally:
                waiter.watch_queue(False)
                waiters = self._by_job[job_id]
                waiters.discard(waiter)
                if not waiters:
                    del self._by_job[job_id]

    def _dispatch(self, raw: bytes) -> None:
        change = decode_change(raw)
        if change is None:
            log.warning("ignored a job change payload we do not understand")
            return
        job_id, version, dequeued = change
        for listener in self._listeners:  # first: a woken waiter's read must not hit the old
            listener.job_changed(job_id, version, dequeued)
        for waiter in self._by_job.get(job_id, ()):
            waiter.note(version)
        if dequeued:
            for waiter in self._queue_watchers:
                waiter.note(queue=True)

    def _wake_all(self) -> None:
        for waiters in self._by_job.values():
            for waiter in waiters:
                waiter.note(resub=True)

    def _on_subscribed(self) -> None:
        self.subscriptions += 1
        self._subscribed.set()
        for listener in self._listeners:
            listener.subscribed()
        self._wake_all()

    def _unsubscribed(self) -> None:
        self._subscribed.clear()
        for listener in self._listeners:
            listener.unsubscribed()

    async def _run(self) -> None:
        base, cap = self._backoff
        delay = base
        while True:
            before = self.subscriptions
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                await self._listen(pubsub)
            except (RedisError, OSError) as exc:
                log.warning("job change subscription lost (%s); resubscribing", type(exc).__name__)
            finally:
                self._unsubscribed()
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            # A subscription that worked resets the backoff; failing to subscribe grows it.
            delay = base if self.subscriptions > before else min(cap, delay * 2)
            await asyncio.sleep(delay * random.uniform(0.5, 1.0))

    async def _listen(self, pubsub: aioredis.client.PubSub) -> None:
        loop = asyncio.get_running_loop()
        last_heard = loop.time()
        pinged_at: float | None = None
        tick = min(1.0, self._ping_interval, self._ping_timeout)  # how often we look at the clock
        while True:
            message = await pubsub.get_message(timeout=tick)
            now = loop.time()
            if message is not None:
                last_heard, pinged_at = now, None
                kind = message["type"]
                if kind == "message":
                    self._dispatch(message["data"])
                elif kind == "subscribe":  # the first, or redis-py's silent resubscription
                    self._on_subscribed()
                continue
            if pinged_at is not None and now - pinged_at > self._ping_timeout:
                raise RedisConnectionError("no answer to PING on the job change subscription")
            if pinged_at is None and now - last_heard >= self._ping_interval:
                await pubsub.ping()
                pinged_at = now
