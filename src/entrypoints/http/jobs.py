"""Jobs: submit (and the seed's synchronous aliases), read, long-poll, list, cancel, images."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Annotated, Any

import msgspec
from litestar import Response, get, post
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import Parameter

from domain.api_jobs import CancelJob, GetJob, ListJobs, SubmitGeneration, Submitted
from domain.api_keys import Authenticate, Caller
from domain.errors import ImageNotFound, JobNotFound
from domain.models import Job, JobStatus
from domain.ports import ImageStore
from entrypoints.http.auth import AnyRequest, require_credential
from entrypoints.http.deps import AS_GIVEN
from entrypoints.http.examples import JOB_EXAMPLE, REQUEST_EXAMPLE, SEED_EXAMPLE
from entrypoints.http.guards import require_json, strict_body
from entrypoints.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from entrypoints.http.idempotency import IdempotencyStore, fingerprint, idempotent
from entrypoints.http.observability import COUNTS_SUBMISSIONS, record_accepted, request_id_of
from entrypoints.http.openapi_docs import IMAGE_MEDIA_TYPES, documented
from entrypoints.http.problems import problem_response, status_for_job_error
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.quotes import image_request_of
from entrypoints.http.schemas import (
    CURSOR_PATTERN,
    GenerationBody,
    JobList,
    JobOut,
    SeedImageOut,
    image_url,
    job_out,
)

log = logging.getLogger("imagegate.api")
MAX_WAIT_SECONDS = 60.0
_PREFER_WAIT = re.compile(r"(?:^|[,;\s])wait\s*=\s*([0-9]+(?:\.[0-9]+)?)", re.IGNORECASE | re.ASCII)


def requested_wait(prefer: str) -> str | None:
    """The seconds of a `Prefer: wait=N` header, as sent (ASCII digits only), or None."""
    match = _PREFER_WAIT.search(prefer)
    return match[1] if match else None


async def _submit(request: AnyRequest, data: GenerationBody, submit: SubmitGeneration) -> Submitted:
    image_request = image_request_of(data, submit.default_model)
    key = require_credential(request).key
    webhook = msgspec.to_builtins(data.webhook) if data.webhook is not None else None
    submitted = await submit(key, image_request, request_id=request_id_of(request), webhook=webhook)
    record_accepted(request)
    log.info("job %s queued", submitted.job.id, extra={"job_id": submitted.job.id})
    return submitted


async def wait_for_job(job: Job, get_job: GetJob, seconds: float) -> Job:
    """Poll the repository until the job is terminal or `seconds` have passed."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + min(seconds, MAX_WAIT_SECONDS)
    delay = 0.05
    while not job.status.terminal:
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 0.5)
        job = await get_job(job.id, owner=job.owner)
    return job


def _job_headers(job: Job) -> dict[str, str]:
    headers = {"Cache-Control": "private, no-cache"}
    if not job.status.terminal:
        headers["Retry-After"] = "1"
    return headers


STRICT_GENERATION_BODY = strict_body(GenerationBody)
SUBMIT_ERRORS = (400, 403, 409, 413, 415, 422, 429, 503)
_QUOTA = ("RateLimit", "RateLimit-Policy")


@post(
    "/v1/images/generations",
    status_code=202,
    tags=["images"],
    guards=[require_json, STRICT_GENERATION_BODY],
    opt=COUNTS_SUBMISSIONS,
    **documented(
        auth=True,
        errors=SUBMIT_ERRORS,
        request_headers=("Idempotency-Key",),
        headers={202: ("Location", "Retry-After", *_QUOTA, "Idempotent-Replayed")},
        example=JOB_EXAMPLE,
        request_example=REQUEST_EXAMPLE,
    ),
)
async def create_generation(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
    idempotency: Annotated[IdempotencyStore, AS_GIVEN],
    quota_headers: QuotaHeaders,
    authenticate: Authenticate,
) -> Response[JobOut]:
    """Submit an image job. Charges `n` credits before enqueueing; poll the `Location`.
    With an `Idempotency-Key` header, a retried request replays the first answer instead of
    submitting (and charging) again."""

    async def run() -> Response[Any]:
        submitted = await _submit(request, data, submit)
        job, charge = submitted.job, submitted.charge
        headers = {
            "Location": f"/v1/jobs/{job.id}",
            "Retry-After": "1",
            **quota_headers(charge.remaining, charge.refill),
        }
        return Response(job_out(job), status_code=202, headers=headers)

    idempotency_key = request.headers.get(IDEMPOTENCY_HEADER)
    if idempotency_key is None:
        return await run()
    return await idempotent(
        idempotency,
        api_key=require_credential(request).key,
        authenticate=authenticate,
        idempotency_key=idempotency_key,
        fp=fingerprint(request.url.path, data),
        run=run,
    )


async def _generate_image_seed(
    request: AnyRequest,
    data: GenerationBody,
    submit: SubmitGeneration,
    get_job: GetJob,
    quota_headers: QuotaHeaders,
    sync_wait_seconds: float,
) -> Response[Any]:
    """Seed alias: submit, wait up to SYNC_WAIT_SECONDS, and answer like the seed demo
    (`{image_url, remaining_calls, job_id}`); 202 with the job if it is still running."""
    submitted = await _submit(request, data, submit)
    charge = submitted.charge
    headers = quota_headers(charge.remaining, charge.refill)
    job = await wait_for_job(submitted.job, get_job, sync_wait_seconds)
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
    return Response(job_out(job), status_code=202, headers=headers)


generate_image_seed = post(
    "/generate_image",
    status_code=200,
    tags=["seed"],
    guards=[require_json, STRICT_GENERATION_BODY],
    opt=COUNTS_SUBMISSIONS,
    **documented(
        auth=True,
        errors=(*SUBMIT_ERRORS, 502),
        headers={200: _QUOTA, 202: ("Location", "Retry-After", *_QUOTA)},
        example=SEED_EXAMPLE,
        request_example=REQUEST_EXAMPLE,
    ),
)(_generate_image_seed)
generate_image_seed_hyphen = post(
    "/generate-image",
    status_code=200,
    tags=["seed"],
    include_in_schema=False,
    guards=[require_json, STRICT_GENERATION_BODY],
    opt=COUNTS_SUBMISSIONS,
)(_generate_image_seed)


@get(
    "/v1/jobs/{job_id:str}",
    tags=["jobs"],
    **documented(
        auth=True,
        errors=(400, 404, 503),
        request_headers=("Prefer",),
        headers={200: ("Cache-Control", "Retry-After", "Preference-Applied", *_QUOTA)},
        example=JOB_EXAMPLE,
    ),
)
async def read_job(
    request: AnyRequest, job_id: str, caller: Caller, get_job: GetJob, quota_headers: QuotaHeaders
) -> Response[JobOut]:
    """The job. `Prefer: wait=N` long-polls until it is terminal or N seconds (≤ 60) pass."""
    job = await get_job(job_id, owner=caller.key_id)
    headers = _job_headers(job)
    wait = requested_wait(request.headers.get("prefer", ""))
    if wait is not None and not job.status.terminal:
        job = await wait_for_job(job, get_job, min(float(wait), MAX_WAIT_SECONDS))
        headers = {**_job_headers(job), "Preference-Applied": f"wait={wait}"}
    charge = caller.charge
    return Response(
        job_out(job), headers={**headers, **quota_headers(charge.remaining, charge.refill)}
    )


@get(
    "/v1/jobs",
    tags=["jobs"],
    **documented(
        auth=True,
        errors=(400, 422, 503),
        headers={200: ("Cache-Control",)},
        example={"data": [JOB_EXAMPLE], "next_cursor": None},
    ),
)
async def read_jobs(
    caller: Caller,
    list_jobs: ListJobs,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None,
        Parameter(pattern=CURSOR_PATTERN, description="The `next_cursor` of the previous page."),
    ] = None,
) -> Response[JobList]:
    """The caller's jobs, newest first. Pass `next_cursor` back as `cursor` for the next page."""
    jobs, next_cursor = await list_jobs(owner=caller.key_id, limit=limit, cursor=cursor)
    body = JobList(data=[job_out(job) for job in jobs], next_cursor=next_cursor)
    return Response(body, headers={"Cache-Control": "private, no-cache"})


@post(
    "/v1/jobs/{job_id:str}/cancel",
    status_code=200,
    tags=["jobs"],
    **documented(
        auth=True, errors=(400, 403, 404, 409, 503), example={**JOB_EXAMPLE, "status": "canceled"}
    ),
)
async def cancel(job_id: str, caller: Caller, cancel_job: CancelJob) -> JobOut:
    """Cancel a queued job: it becomes `canceled` and its credits are refunded."""
    return job_out(await cancel_job(job_id, owner=caller.key_id))


_IMAGE_DOCS = documented(
    auth=True,
    errors=(400, 404, 503),
    request_headers=("If-None-Match",),
    headers={200: ("ETag", "Cache-Control"), 304: ("ETag", "Cache-Control")},
    media_types=IMAGE_MEDIA_TYPES,
)
_IMAGE_DOCS["responses"][304] = ResponseSpec(
    data_container=None, description="Not modified (ETag matched)", generate_examples=False
)


@get(
    "/v1/jobs/{job_id:str}/images/{index:int}",
    tags=["jobs"],
    media_type="image/png",
    **_IMAGE_DOCS,
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
