"""`GET /v1/jobs/{id}/events`: the job as it changes, as Server-Sent Events (the generator is
entrypoints/http/job_events.py). The owner check, and the waiter cap's 429, come before the
first byte: a stream that has started cannot turn into a status.

The streams of one job woken by one change read it through the job cache (one Redis read for
all of them, adapters/cached_jobs.py) and share its snapshot, so its event's bytes are made
once; the bytes go out through `EventStream` (Litestar's `ServerSentEvent` would re-encode
every message and start each stream with a hop to a thread)."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from litestar import get
from litestar.di import NamedDependency
from litestar.params import FromPath

from domain.errors import JobNotFound
from domain.models import JobStatus
from entrypoints.http.auth import AnyRequest
from entrypoints.http.event_stream import EventStream
from entrypoints.http.job_bodies import ByJob, job_json
from entrypoints.http.job_events import JobEvent, JobSnapshot, job_events
from entrypoints.http.openapi_docs import documented
from entrypoints.http.route_uses import JobStreams, release_key_slot

_SNAPSHOTS: ByJob[JobSnapshot] = ByJob()
_END = JobEvent(data=None, comment="end", frame=b": end\r\n\r\n", last=True)
_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


async def _then(
    first: JobEvent, rest: AsyncGenerator[JobEvent, None]
) -> AsyncGenerator[JobEvent, None]:
    try:
        yield first
        async for event in rest:
            yield event
    finally:
        await rest.aclose()


@get(
    "/v1/jobs/{job_id:str}/events",
    tags=["jobs"],
    media_type="text/event-stream",
    **documented(
        auth=True,
        errors=(404, 429, 503),
        request_headers=("Last-Event-ID",),
        headers={200: ("Cache-Control",)},
        media_types=("text/event-stream",),
    ),
)
async def job_event_stream(
    request: AnyRequest, job_id: FromPath[str], job_streams: NamedDependency[JobStreams]
) -> EventStream:
    """The job as Server-Sent Events: `event: job`, `id: <version>`, `data: <job>` on connect
    and on every change (ids strictly increase), a `: ping` comment every 15 s, and the end of
    the stream after the terminal event. Send `Last-Event-ID` to resume without repeats."""
    # One dependency, as the poll (entrypoints/http/route_uses.py).
    uses = job_streams
    get_job, job_progress = uses.get_job, uses.job_progress
    async with uses.callers.hold(request) as caller:
        owner = caller.key_id
        await get_job(job_id, owner=owner)  # another key's job: 404 before any stream starts
        await release_key_slot(request)  # a stream is a waiter: the waiter cap applies instead

    async def read() -> JobSnapshot | None:
        try:
            job = await get_job(job_id, owner=owner)
        except JobNotFound:
            return None  # expired meanwhile: the stream ends
        progress = await job_progress(job)
        return _SNAPSHOTS.get(
            job,
            progress,
            lambda: JobSnapshot(
                job.version,
                job.status.terminal,
                job.status is JobStatus.QUEUED,
                job_json(job, progress),
            ),
        )

    events = job_events(
        uses.changes, read, job_id, owner, last_event_id=request.headers.get("last-event-id")
    )
    try:
        first = await anext(events)  # TooManyWaiters here is still a 429
    except StopAsyncIteration:
        first = _END  # the client had seen the end already
    return EventStream(_then(first, events), headers=_HEADERS)
