"""Job ids to the broker over Celery: the id (and nothing else) by task name, with Celery's
public API only (`send_task`, kombu's `Producer.batch`).

`CeleryPublisher` publishes synchronously: the worker's sweeper uses it. The API uses
`RelayedJobQueue`: a submit hands the job id (already recorded, in the outbox) to one relay per
process, which publishes whatever is pending as one batch (one producer, one pipelined round trip)
on its own thread, then marks the batch enqueued in the outbox. Each submit waits for the batch
its job is in (group commit), so a 202 still means the broker has the message, and publishing
costs a fraction of its per-message price.

The relay tracks the broker's health. A failed publish fails the submits waiting on it — a 503
with the credits given back — and once the broker is known to be down, `accepting()` is false
and submits are refused before anything is charged, until a probe succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum

from celery import Celery

from domain.errors import QueueUnavailable

log = logging.getLogger("imagegate.queue")


class CeleryPublisher:
    """Synchronous publishing (the sweeper's JobDispatcher, the relay's batches) and the
    broker probe."""

    def __init__(self, app: Celery, *, task_name: str, queue: str) -> None:
        self._app = app
        self._task_name = task_name
        self._queue = queue

    def enqueue_sync(self, job_id: str) -> None:
        self._app.send_task(self._task_name, args=[job_id], queue=self._queue)

    def publish_batch(self, job_ids: Sequence[str]) -> None:
        """Publish every id in one pipelined round trip; all or (as far as we know) none.
        A message that did go out before a failure is harmless: a worker skips a job that is
        already claimed, finished or withdrawn."""
        with self._app.producer_or_acquire() as producer, producer.batch():
            for job_id in job_ids:
                self._app.send_task(
                    self._task_name,
                    args=[job_id],
                    queue=self._queue,
                    producer=producer,
                    argsrepr=f"['{job_id}']",  # what Celery's saferepr would say, for less
                    kwargsrepr="{}",
                    # The message goes straight to the queue's list (a direct exchange is sent
                    # anonymously), so re-binding the queue per message (Celery's default,
                    # a quarter of the cost) buys nothing; the workers declare it.
                    declare=[],
                )

    def ping_sync(self) -> None:
        with self._app.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=2)


class BrokerState(StrEnum):
    UNKNOWN = "unknown"  # nothing published yet: submits wait for their own publish
    UP = "up"  # the last publish succeeded: submits return once the job is handed over
    DOWN = "down"  # the last publish failed: submits are refused until it recovers


_Pending = tuple[str, "asyncio.Future[None]"]


class RelayedJobQueue:
    """The API's JobQueue: a background relay publishes batches of job ids."""

    def __init__(
        self,
        publisher: CeleryPublisher,
        *,
        on_published: Callable[[Sequence[str]], Awaitable[None]],
        max_batch: int = 500,
        retry_seconds: float = 1.0,
    ) -> None:
        self._publisher = publisher
        self._on_published = on_published
        self._max_batch = max_batch
        self._retry_seconds = retry_seconds
        self._pending: asyncio.Queue[_Pending] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagegate-relay")
        self._task: asyncio.Task[None] | None = None
        self.state = BrokerState.UNKNOWN

    def accepting(self) -> bool:
        return self.state is not BrokerState.DOWN

    async def enqueue(self, job_id: str) -> None:
        if self.state is BrokerState.DOWN:
            raise QueueUnavailable()
        self._ensure_running()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.put_nowait((job_id, done))
        await done

    async def ping(self) -> None:
        # kombu connects synchronously; keep it off the event loop.
        await asyncio.to_thread(self._publisher.ping_sync)

    async def aclose(self, drain_seconds: float = 5.0) -> None:
        """Publish what is pending (for up to `drain_seconds`), then stop. Anything left over
        stays in the outbox for the sweeper."""
        if self._task is not None:
            if self.state is BrokerState.UP:
                try:
                    await asyncio.wait_for(self._pending.join(), drain_seconds)
                except TimeoutError:
                    log.warning("relay: %d job ids left to the sweeper", self._pending.qsize())
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run(), name="relay")

    async def _run(self) -> None:
        while True:
            if self.state is BrokerState.DOWN:
                if not await self._recover():
                    await asyncio.sleep(self._retry_seconds)
                continue
            batch = [await self._pending.get()]
            while len(batch) < self._max_batch and not self._pending.empty():
                batch.append(self._pending.get_nowait())
            await self._publish(batch)  # may add what was pending when the broker failed
            for _ in batch:
                self._pending.task_done()

    async def _publish(self, batch: list[_Pending]) -> None:
        job_ids = [job_id for job_id, _ in batch]
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._publisher.publish_batch, job_ids)
        except Exception as exc:
            self._went_down(exc)
            while not self._pending.empty():
                batch.append(self._pending.get_nowait())
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(QueueUnavailable())  # the caller withdraws it
            return
        self.state = BrokerState.UP
        for _, waiter in batch:
            if not waiter.done():
                waiter.set_result(None)
        await self._mark(job_ids)

    async def _recover(self) -> bool:
        """While down: probe the broker, then accept again. (Nothing waits here: the submits
        whose publish failed were answered 503 and withdrawn.)"""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._publisher.ping_sync)
        except Exception:
            return False
        log.info("relay: the broker is back; accepting submits again")
        self.state = BrokerState.UP
        return True

    async def _mark(self, job_ids: Sequence[str]) -> None:
        try:
            await self._on_published(job_ids)
        except Exception as exc:  # harmless: the sweeper sends them again, workers skip repeats
            log.warning("relay: could not take %d jobs out of the outbox: %r", len(job_ids), exc)

    def _went_down(self, exc: Exception) -> None:
        if self.state is not BrokerState.DOWN:
            log.warning(
                "relay: publishing failed, refusing submits until the broker is back: %r", exc
            )
        self.state = BrokerState.DOWN
