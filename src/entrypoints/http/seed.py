"""The seed demo's synchronous aliases: submit, wait, answer `{image_url, remaining_calls,
job_id}` as the seed did."""

from __future__ import annotations

from typing import Any

from litestar import Response, post
from litestar.di import NamedDependency
from litestar.params import JSONBody

from domain.api_jobs import SubmitGeneration
from domain.job_progress import JobProgress
from domain.job_waiting import AwaitJob
from domain.models import JobStatus
from entrypoints.http.auth import AnyRequest
from entrypoints.http.examples import REQUEST_EXAMPLE, SEED_EXAMPLE
from entrypoints.http.guards import require_json
from entrypoints.http.jobs import (
    QUOTA_HEADERS,
    STRICT_GENERATION_BODY,
    SUBMIT_ERRORS,
    submit_body,
    wait_quietly,
)
from entrypoints.http.observability import COUNTS_SUBMISSIONS
from entrypoints.http.openapi_docs import documented
from entrypoints.http.problems import problem_response, status_for_job_error
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.schemas import GenerationBody, SeedImageOut, image_url, job_out


async def _generate_image_seed(
    request: AnyRequest,
    data: JSONBody[GenerationBody],
    submit: NamedDependency[SubmitGeneration],
    await_job: NamedDependency[AwaitJob],
    job_progress: NamedDependency[JobProgress],
    quota_headers: NamedDependency[QuotaHeaders],
    sync_wait_seconds: NamedDependency[float],
) -> Response[Any]:
    """Seed alias: submit, wait up to SYNC_WAIT_SECONDS, and answer like the seed demo
    (`{image_url, remaining_calls, job_id}`); 202 with the job if it is still running."""
    submitted = await submit_body(request, data, submit)
    charge = submitted.charge
    headers = quota_headers(charge.remaining, charge.refill)
    job = await wait_quietly(await_job, submitted.job, sync_wait_seconds)
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
    opt=COUNTS_SUBMISSIONS,
    **documented(
        auth=True,
        errors=(*SUBMIT_ERRORS, 502),
        headers={200: QUOTA_HEADERS, 202: ("Location", "Retry-After", *QUOTA_HEADERS)},
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
