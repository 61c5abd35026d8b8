"""Jobs: submit, read, long-poll, list, cancel (the seed's aliases: seed.py; images: images.py)."""

from __future__ import annotations

import logging
from typing import Annotated, Any, cast

import msgspec
from litestar import MediaType, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from domain.api_jobs import CancelJob, ListJobs, SubmitGeneration, Submitted
from domain.api_keys import Caller
from domain.deadlines import CANCEL_AFTER_HEADER, resolve_deadline
from domain.errors import TooManyWaiters
from domain.job_progress import JobProgress
from domain.job_waiting import AwaitJob
from domain.models import Job
from entrypoints.http.auth import AnyRequest, require_credential
from entrypoints.http.deps import QUOTA_HEADERS_STATE
from entrypoints.http.examples import JOB_EXAMPLE, REQUEST_EXAMPLE
from entrypoints.http.guards import require_json, strict_body
from entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from entrypoints.http.idempotency import fingerprint, idempotent
from entrypoints.http.job_bodies import job_json
from entrypoints.http.observability import COUNTS_SUBMISSIONS, record_accepted, request_id_of
from entrypoints.http.openapi_docs import documented
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.quotes import image_request_of
from entrypoints.http.route_uses import JobReads, Submissions, prefer_wait, release_key_slot
from entrypoints.http.schemas import (
    CURSOR_PATTERN,
    GenerationBody,
    JobList,
    JobOut,
    job_out,
)

log = logging.getLogger("imagegate.api")


async def submit_body(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
) -> Submitted:
    image_request = image_request_of(data, submit.default_model)
    # Validated before anything is charged; bad values are a 422 naming the header or field.
    header = request.headers.get(CANCEL_AFTER_HEADER)
    deadline = resolve_deadline(header, data.deadline_seconds)
    key = require_credential(request).key
    webhook = msgspec.to_builtins(data.webhook) if data.webhook is not None else None
    submitted = await submit(
        key,
        image_request,
        request_id=request_id_of(request),
        webhook=webhook,
        deadline=deadline,
    )
    record_accepted(request)
    log.info("job %s queued", submitted.job.id, extra={"job_id": submitted.job.id})
    return submitted


def _applied(seconds: float) -> dict[str, str]:
    return {"Preference-Applied": f"wait={seconds:g}"}


async def wait_quietly(await_job: AwaitJob, job: Job, seconds: float) -> Job:
    """Wait after a submit: past the waiter cap the job is answered as it is (202), never
    as a 429 — it has been charged and queued already."""
    try:
        return await await_job(job, seconds)
    except TooManyWaiters:
        return job


def _job_headers(job: Job) -> dict[str, str]:
    headers = {"Cache-Control": "private, no-cache"}
    if not job.status.terminal:
        headers["Retry-After"] = "1"
    return headers


STRICT_GENERATION_BODY = strict_body(GenerationBody)
SUBMIT_ERRORS = (400, 403, 409, 413, 415, 422, 429, 503)
QUOTA_HEADERS = ("RateLimit", "RateLimit-Policy")


def _with_finished_answer(docs: dict[str, Any]) -> dict[str, Any]:
    """A submit's documentation plus its 200: with `Prefer: wait=N`, the job ended in time."""
    docs["responses"] = {
        200: ResponseSpec(
            data_container=JobOut,
            description="With `Prefer: wait=N`: the job ended within N seconds (see its status)",
            generate_examples=False,
        ),
        **docs["responses"],
    }
    return docs


@post(
    "/v1/images/generations",
    status_code=202,
    tags=["images"],
    guards=[require_json, STRICT_GENERATION_BODY],
    opt=COUNTS_SUBMISSIONS,
    **_with_finished_answer(
        documented(
            auth=True,
            errors=SUBMIT_ERRORS,
            request_headers=("Idempotency-Key", CANCEL_AFTER_HEADER),
            headers={
                200: ("Preference-Applied", *QUOTA_HEADERS),
                202: (
                    "Location",
                    "Retry-After",
                    *QUOTA_HEADERS,
                    "Idempotent-Replayed",
                    "Preference-Applied",
                ),
            },
            example=JOB_EXAMPLE,
            request_example=REQUEST_EXAMPLE,
        )
    ),
)
async def create_generation(
    request: AnyRequest, data: JSONBody[GenerationBody], submissions: NamedDependency[Submissions]
) -> Response[JobOut]:
    """Submit an image job. Charges `n` credits before enqueueing; poll the `Location`.
    With an `Idempotency-Key` header, a retried request replays the first answer instead of
    submitting (and charging) again. With `Prefer: wait=N` (N ≤ 60), answers 200 with the
    finished job when it ends within N seconds, else 202 as usual."""
    # One dependency, not six: Litestar resolves siblings in an anyio task group, one task
    # each — ~10 % of a submit's CPU (entrypoints/http/route_uses.py).
    uses = submissions
    submit, await_job, job_progress = uses.submit, uses.await_job, uses.job_progress
    quota_headers: QuotaHeaders = request.app.state[QUOTA_HEADERS_STATE]
    wait = prefer_wait(request)

    async def run() -> Response[Any]:
        submitted = await submit_body(request, data, submit)
        job, charge = submitted.job, submitted.charge
        headers = {
            "Location": f"/v1/jobs/{job.id}",
            **quota_headers(charge.remaining, charge.refill),
        }
        if wait is not None:
            job = await wait_quietly(await_job, job, wait)
            headers.update(_applied(wait))
        body = job_out(job, await job_progress(job))
        if job.status.terminal:
            return Response(body, status_code=200, headers=headers)
        return Response(body, status_code=202, headers={**headers, "Retry-After": "1"})

    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    if idempotency_key is None:
        return await run()
    return await idempotent(
        uses.idempotency,
        api_key=require_credential(request).key,
        authenticate=uses.authenticate,
        idempotency_key=idempotency_key,
        fp=fingerprint(request.url.path, data),
        run=run,
    )


@get(
    "/v1/jobs/{job_id:str}",
    tags=["jobs"],
    **documented(
        auth=True,
        errors=(400, 404, 429, 503),
        request_headers=("Prefer",),
        headers={200: ("Cache-Control", "Retry-After", "Preference-Applied", *QUOTA_HEADERS)},
        example=JOB_EXAMPLE,
    ),
)
async def read_job(
    request: AnyRequest, job_id: FromPath[str], job_reads: NamedDependency[JobReads]
) -> Response[JobOut]:
    """The job. `Prefer: wait=N` long-polls until it is terminal or N seconds (≤ 60) pass."""
    # One dependency, and the caller checked here: the route clients call most pays no anyio
    # task group (entrypoints/http/route_uses.py).
    uses = job_reads
    async with uses.callers.hold(request) as caller:
        job = await uses.get_job(job_id, owner=caller.key_id)
        headers = _job_headers(job)
        wait = prefer_wait(request)
        if wait is not None and not job.status.terminal:
            await release_key_slot(request)  # a waiter counts against the waiter cap instead
            job = await uses.await_job(job, wait)
            headers = {**_job_headers(job), **_applied(wait)}
        charge, quota_headers = caller.charge, request.app.state[QUOTA_HEADERS_STATE]
        # The bytes are shared by every answer about this job record (http/job_bodies.py).
        body = job_json(job, await uses.job_progress(job))
    answer = Response(
        body,
        media_type=MediaType.JSON,
        headers={**headers, **quota_headers(charge.remaining, charge.refill)},
    )
    return cast("Response[JobOut]", answer)


@get(
    "/v1/jobs",
    tags=["jobs"],
    **documented(
        auth=True,
        errors=(400, 422, 429, 503),
        headers={200: ("Cache-Control",)},
        example={"data": [JOB_EXAMPLE], "next_cursor": None},
    ),
)
async def read_jobs(
    caller: NamedDependency[Caller],
    list_jobs: NamedDependency[ListJobs],
    job_progress: NamedDependency[JobProgress],
    limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        QueryParameter(
            pattern=CURSOR_PATTERN, description="The `next_cursor` of the previous page."
        ),
    ] = None,
) -> Response[JobList]:
    """The caller's jobs, newest first. Pass `next_cursor` back as `cursor` for the next page."""
    jobs, next_cursor = await list_jobs(owner=caller.key_id, limit=limit, cursor=cursor)
    body = JobList(
        data=[job_out(job, await job_progress(job)) for job in jobs], next_cursor=next_cursor
    )
    return Response(body, headers={"Cache-Control": "private, no-cache"})


@post(
    "/v1/jobs/{job_id:str}/cancel",
    status_code=200,
    tags=["jobs"],
    **documented(
        auth=True,
        errors=(400, 403, 404, 409, 429, 503),
        example={**JOB_EXAMPLE, "status": "canceled"},
    ),
)
async def cancel(
    job_id: FromPath[str], caller: NamedDependency[Caller], cancel_job: NamedDependency[CancelJob]
) -> JobOut:
    """Cancel a queued or running job: it becomes `canceled` and its credits are refunded
    (a running generation is abandoned and stores nothing). A finished job: 409."""
    return job_out(await cancel_job(job_id, owner=caller.key_id))
