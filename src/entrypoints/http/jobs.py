"""Jobs: submit (and the seed's synchronous aliases), read, long-poll, list, cancel, images."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any

from litestar import Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from domain.api_jobs import CancelJob, GetJob, ListJobs, SubmitGeneration, Submitted
from domain.api_keys import Caller
from domain.deadlines import CANCEL_AFTER_HEADER, resolve_deadline
from domain.errors import ImageNotFound, JobNotFound
from domain.job_progress import JobProgress
from domain.job_waiting import AwaitJob
from domain.key_limits import TooManyWaiters
from domain.models import ImageRequest, Job, JobStatus, OutputFormat, Quality
from domain.ports import ImageStore
from entrypoints.http.auth import AnyRequest, require_credential
from entrypoints.http.deps import AS_GIVEN, prefer_wait, release_key_slot
from entrypoints.http.guards import require_json, strict_body
from entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from entrypoints.http.idempotency import IdempotencyStore, fingerprint, idempotent
from entrypoints.http.observability import request_id_of
from entrypoints.http.problems import problem_response, problem_responses, status_for_job_error
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.schemas import (
    GenerationBody,
    JobList,
    JobOut,
    SeedImageOut,
    image_url,
    job_out,
)

log = logging.getLogger("imagegate.api")


async def _submit(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
    cancel_after: str | None = None,
) -> Submitted:
    image_request = ImageRequest(
        prompt=data.prompt,
        n=data.n,
        size=data.size,
        quality=Quality(data.quality),
        output_format=OutputFormat(data.output_format),
        model=data.model or submit.default_model,
    )
    # Validated before anything is charged; bad values are a 422 naming the header or field.
    header = cancel_after if cancel_after is not None else request.headers.get(CANCEL_AFTER_HEADER)
    deadline = resolve_deadline(header, data.deadline_seconds)
    key = require_credential(request).key
    submitted = await submit(
        key, image_request, request_id=request_id_of(request), deadline=deadline
    )
    log.info("job %s queued", submitted.job.id, extra={"job_id": submitted.job.id})
    return submitted


def _applied(seconds: float) -> dict[str, str]:
    return {"Preference-Applied": f"wait={seconds:g}"}


async def _wait_quietly(await_job: AwaitJob, job: Job, seconds: float) -> Job:
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
SUBMIT_ERRORS = problem_responses(400, 401, 403, 409, 413, 415, 422, 429, 503)


@post(
    "/v1/images/generations",
    status_code=202,
    tags=["images"],
    guards=[require_json, STRICT_GENERATION_BODY],
    responses={
        200: ResponseSpec(
            data_container=JobOut,
            description="With `Prefer: wait=N`: the job ended within N seconds (see its status)",
            generate_examples=False,
        ),
        **SUBMIT_ERRORS,
    },
)
async def create_generation(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
    idempotency: Annotated[IdempotencyStore, AS_GIVEN],
    quota_headers: QuotaHeaders,
    await_job: AwaitJob,
    job_progress: JobProgress,
    cancel_after: Annotated[
        str | None,
        Parameter(
            header=CANCEL_AFTER_HEADER,
            description="A deadline: 90, 90s, 5m or 1h (1 s to 24 h). Queued past it → aborted; "
            "running → canceled; refunded either way. The body's deadline_seconds wins.",
        ),
    ] = None,
) -> Response[JobOut]:
    """Submit an image job. Charges `n` credits before enqueueing; poll the `Location`.
    With an `Idempotency-Key` header, a retried request replays the first answer instead of
    submitting (and charging) again. With `Prefer: wait=N` (N ≤ 60), answers 200 with the
    finished job when it ends within N seconds, else 202 as usual."""
    wait = prefer_wait(request)

    async def run() -> Response[Any]:
        submitted = await _submit(request, data, submit, cancel_after)
        job, charge = submitted.job, submitted.charge
        headers = {
            "Location": f"/v1/jobs/{job.id}",
            **quota_headers(charge.remaining, charge.refill),
        }
        if wait is not None:
            job = await _wait_quietly(await_job, job, wait)
            headers.update(_applied(wait))
        body = job_out(job, await job_progress(job))
        if job.status.terminal:
            return Response(body, status_code=200, headers=headers)
        return Response(body, status_code=202, headers={**headers, "Retry-After": "1"})

    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    if idempotency_key is None:
        return await run()
    return await idempotent(
        idempotency,
        api_key=require_credential(request).key,
        idempotency_key=idempotency_key,
        fp=fingerprint(request.url.path, data),
        run=run,
    )


async def _generate_image_seed(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
    await_job: AwaitJob,
    job_progress: JobProgress,
    quota_headers: QuotaHeaders,
    sync_wait_seconds: float,
) -> Response[Any]:
    """Seed alias: submit, wait up to SYNC_WAIT_SECONDS, and answer like the seed demo
    (`{image_url, remaining_calls, job_id}`); 202 with the job if it is still running."""
    submitted = await _submit(request, data, submit)
    charge = submitted.charge
    headers = quota_headers(charge.remaining, charge.refill)
    job = await _wait_quietly(await_job, submitted.job, sync_wait_seconds)
    if job.status is JobStatus.SUCCEEDED:
        url = str(request.base_url).rstrip("/") + image_url(job.id, 0)
        body = SeedImageOut(image_url=url, remaining_calls=charge.remaining, job_id=job.id)
        return Response(body, status_code=200, headers=headers)
    if job.status.terminal:
        error = job.error
        code, detail = (error.code, error.message) if error else ("internal", "The job failed.")
        status = status_for_job_error(code)
        return problem_response(status, code, detail, headers=headers, job_id=job.id)
    headers.update({"Location": f"/v1/jobs/{job.id}", "Retry-After": "1"})
    return Response(job_out(job, await job_progress(job)), status_code=202, headers=headers)


generate_image_seed = post(
    "/generate_image",
    status_code=200,
    tags=["seed"],
    guards=[require_json, STRICT_GENERATION_BODY],
    responses={**SUBMIT_ERRORS, **problem_responses(502)},
)(_generate_image_seed)
generate_image_seed_hyphen = post(
    "/generate-image",
    status_code=200,
    tags=["seed"],
    include_in_schema=False,
    guards=[require_json, STRICT_GENERATION_BODY],
)(_generate_image_seed)


@get("/v1/jobs/{job_id:str}", tags=["jobs"], responses=problem_responses(401, 404, 429, 503))
async def read_job(
    request: AnyRequest,
    job_id: str,
    caller: Caller,
    get_job: GetJob,
    await_job: AwaitJob,
    job_progress: JobProgress,
    quota_headers: QuotaHeaders,
) -> Response[JobOut]:
    """The job. `Prefer: wait=N` long-polls until it is terminal or N seconds (≤ 60) pass."""
    job = await get_job(job_id, owner=caller.key_id)
    headers = _job_headers(job)
    wait = prefer_wait(request)
    if wait is not None and not job.status.terminal:
        await release_key_slot(request)  # a waiter counts against the waiter cap instead
        job = await await_job(job, wait)
        headers = {**_job_headers(job), **_applied(wait)}
    charge = caller.charge
    return Response(
        job_out(job, await job_progress(job)),
        headers={**headers, **quota_headers(charge.remaining, charge.refill)},
    )


@get("/v1/jobs", tags=["jobs"], responses=problem_responses(400, 401, 422, 429, 503))
async def read_jobs(
    caller: Caller,
    list_jobs: ListJobs,
    job_progress: JobProgress,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    cursor: str | None = None,
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
    responses=problem_responses(401, 403, 404, 409, 429, 503),
)
async def cancel(job_id: str, caller: Caller, cancel_job: CancelJob) -> JobOut:
    """Cancel a queued or running job: it becomes `canceled` and its credits are refunded
    (a running generation is abandoned and stores nothing). A finished job: 409."""
    return job_out(await cancel_job(job_id, owner=caller.key_id))


@get(
    "/v1/jobs/{job_id:str}/images/{index:int}",
    tags=["jobs"],
    media_type="image/png",
    responses={
        304: ResponseSpec(
            data_container=None, description="Not modified (ETag matched)", generate_examples=False
        ),
        **problem_responses(401, 404, 429, 503),
    },
)
async def read_image(
    request: AnyRequest,
    job_id: str,
    index: int,
    caller: Caller,
    get_job: GetJob,
    images: Annotated[ImageStore, AS_GIVEN],
) -> Response[bytes]:
    """The image bytes, with their content type and an ETag."""
    try:
        job = await get_job(job_id, owner=caller.key_id)
    except JobNotFound:
        raise ImageNotFound() from None
    stored = next((image for image in job.images if image.index == index), None)
    if job.status is not JobStatus.SUCCEEDED or stored is None:
        raise ImageNotFound()
    etag = f'"{job.id}-{index}-{stored.size}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=86400, immutable"}
    if request.headers.get("if-none-match") == etag:
        return Response(b"", status_code=304, headers=headers)
    data = await asyncio.to_thread(images.get, job.id, stored.attempt, index)
    if data is None:
        raise ImageNotFound()
    return Response(data, media_type=stored.content_type, headers=headers)
