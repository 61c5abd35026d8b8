"""The job event stream behind `GET /v1/jobs/{id}/events`, as an async generator of
`JobEvent`s (Litestar `ServerSentEventMessage`s whose bytes are made once): the route streams
their `encode()` after the owner-scoped 404 (a stream that has started cannot turn into a 404).

    event: job
    id: 7            the job's version; `7-2` is the second queue-position update at version 7
    data: {…job…}

Ids are ordered by (version, update): strictly increasing on one stream, and a reconnect with
`Last-Event-ID` skips every version the client has seen. Queue-position updates (same
version, the job still queued, its body changed) are coalesced to at most one per
`position_interval`. A `: ping` comment goes out after `ping_every` seconds of silence; the
stream ends after the terminal event, or at once when the client has already seen it.

Every read of the job is triggered by a wake-up from the change hub (or the first read on
connect): no polling. A wake-up naming a version the stream has already sent is skipped
without a read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field

from litestar.response import ServerSentEventMessage

from domain.job_changes import JobChanges, Wake

PING_EVERY_SECONDS = 15.0
POSITION_INTERVAL_SECONDS = 1.0
_EVENT_ID = re.compile(r"([0-9]{1,18})(?:-([0-9]{1,9}))?", re.ASCII)


@dataclass(frozen=True, slots=True)
class JobSnapshot:
    """What the stream needs of a job: its version, whether it is over, whether its queue
    position can still move, and its resource JSON. The streams of one job woken by one change
    share one snapshot (entrypoints/http/job_stream.py), so its event is encoded once."""

    version: int
    terminal: bool
    queued: bool
    body: str | bytes
    _shared: list[JobEvent] = field(default_factory=list, compare=False, repr=False)

    def event(self, event_id: EventId) -> JobEvent:
        if event_id.update:  # a queue move: its id is the stream's own
            return JobEvent.of(event_id, self.body)
        if not self._shared:
            self._shared.append(JobEvent.of(event_id, self.body, last=self.terminal))
        return self._shared[0]


ReadJob = Callable[[], Awaitable[JobSnapshot | None]]  # None: the job is gone (expired)


@dataclass(frozen=True, slots=True, order=True)
class EventId:
    version: int
    update: int = 0

    def __str__(self) -> str:
        return f"{self.version}-{self.update}" if self.update else str(self.version)


def parse_event_id(raw: str | None) -> EventId | None:
    """A `Last-Event-ID` we issued, or None (absent or foreign: start from the beginning)."""
    match = _EVENT_ID.fullmatch(raw.strip()) if raw else None
    if match is None:
        return None
    return EventId(int(match.group(1)), int(match.group(2) or 0))


@dataclass
class JobEvent(ServerSentEventMessage):
    """A message whose bytes are made once (Litestar's `encode` rebuilds them every call)."""

    frame: bytes = b""
    last: bool = False  # the terminal event: the stream ends with it

    @classmethod
    def of(cls, event_id: EventId, body: str | bytes, *, last: bool = False) -> JobEvent:
        data = body.decode() if isinstance(body, bytes) else body
        # The body is one line of JSON: no line break to split, so the frame is one write.
        frame = f"id: {event_id}{_SEP}event: job{_SEP}data: {data}{_SEP}{_SEP}".encode()
        return cls(data=data, event="job", id=str(event_id), frame=frame, last=last)

    def encode(self) -> bytes:
        return self.frame


_SEP = "\r\n"
PING = JobEvent(data=None, comment="ping", frame=f": ping{_SEP}{_SEP}".encode())


class _Stream:
    def __init__(self, resume: EventId | None) -> None:
        self.sent = resume  # the newest id the client has
        self.body: str | bytes | None = None  # the body it has, when sent on this stream

    def next_event(self, job: JobSnapshot) -> JobEvent | None:
        sent = self.sent
        if sent is None or job.version > sent.version:
            event_id = EventId(job.version)
        elif job.version == sent.version and job.queued and job.body != self.body:
            event_id = EventId(job.version, sent.update + 1)  # the queue moved
        else:
            return None  # seen already (or a read older than what the client has)
        self.sent, self.body = event_id, job.body
        return job.event(event_id)

    def ended(self, job: JobSnapshot) -> bool:
        return job.terminal and self.sent is not None and self.sent.version >= job.version

    def already_has(self, wake: Wake) -> bool:
        return (
            wake.version is not None
            and self.sent is not None
            and wake.version <= self.sent.version
            and not wake.queue_moved
            and not wake.resubscribed
        )


async def job_events(
    changes: JobChanges,
    read_job: ReadJob,
    job_id: str,
    key_id: str,
    *,
    last_event_id: str | None = None,
    ping_every: float = PING_EVERY_SECONDS,
    position_interval: float = POSITION_INTERVAL_SECONDS,
) -> AsyncGenerator[JobEvent, None]:
    """The events of one job for its owner. Raises `TooManyWaiters` before the first event
    when the key holds too many waiters, so call `anext` once before starting the response
    if the 429 must be a status rather than a closed stream."""
    loop = asyncio.get_running_loop()
    stream = _Stream(parse_event_id(last_event_id))
    async with changes.waiter(job_id, key_id) as waiter:
        job = await read_job()  # after registering: a change from here on wakes us
        last_sent = next_position_at = loop.time()
        position_due = False
        while job is not None:
            waiter.watch_queue(job.queued)
            event = stream.next_event(job)
            if event is not None:
                yield event
                last_sent = loop.time()
                next_position_at = last_sent + position_interval
            if stream.ended(job):
                return
            while True:  # until something calls for a read
                deadline = next_position_at if position_due else last_sent + ping_every
                wake = await waiter.changed(max(0.0, deadline - loop.time()))
                if wake is None and position_due:
                    break  # the coalesced queue move is due
                if wake is None:
                    yield PING
                    last_sent = loop.time()
                    continue
                if stream.already_has(wake):
                    continue
                queue_only = wake.version is None and not wake.resubscribed
                if queue_only and loop.time() < next_position_at:  # too soon after the last
                    position_due = True
                    continue
                break
            position_due = False
            job = await read_job()
