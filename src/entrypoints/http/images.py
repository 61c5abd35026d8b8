"""A job's images: the bytes, with their content type and an ETag."""

from __future__ import annotations

import asyncio

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, SkipValidation

from domain.api_jobs import GetJob
from domain.api_keys import Caller
from domain.errors import ImageNotFound, JobNotFound
from domain.models import JobStatus
from domain.ports import ImageStore
from entrypoints.http.auth import AnyRequest
from entrypoints.http.openapi_docs import documented
from entrypoints.http.openapi_headers import IMAGE_MEDIA_TYPES

_IMAGE_DOCS = documented(
    auth=True,
    errors=(400, 404, 429, 503),
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
    job_id: FromPath[str],
    index: FromPath[int],
    caller: NamedDependency[Caller],
    get_job: NamedDependency[GetJob],
    images: NamedDependency[SkipValidation[ImageStore]],
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
