"""msgspec Structs at the HTTP edge: one per operation. snake_case JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from http import HTTPStatus
from typing import Annotated, Literal

import msgspec

from domain.job_progress import NO_PROGRESS, Progress
from domain.models import Job, KeyInfo, Refill

# `\S`: a prompt of only whitespace is refused (422) like an empty one.
Prompt = Annotated[
    str,
    msgspec.Meta(min_length=1, max_length=32_000, pattern=r"\S", description="What to draw."),
]
# `model: ""` is a 422 naming `model`, not the default model (null or absent is the default).
Model = Annotated[str, msgspec.Meta(min_length=1)]

# A list cursor is the unpadded base64url of a 40-byte ASCII index member
# ("<13-digit ms>:<job id>"): 13 groups of 4 characters (each decoding to 3 ASCII bytes, the
# fifth with the ":" at byte 13) and 2 for the last byte. Checked at the edge so the document
# states exactly what the server accepts.
_B64_ASCII = "[A-Za-f][A-HQ-Xg-nw-z0-3][ABEFIJMNQRUVYZcdghklopstwx014589][A-Za-z0-9_-]"
CURSOR_PATTERN = (
    f"^(?:{_B64_ASCII}){{4}}[A-Za-f][DTjz][op][A-Za-z0-9_-](?:{_B64_ASCII}){{8}}[A-Za-f][AQgw]$"
)


class WebhookBody(msgspec.Struct, forbid_unknown_fields=True):
    """Where to POST the job's events (Standard Webhooks, signed with GET /v1/webhooks/secret)."""

    url: Annotated[str | None, msgspec.Meta(description="https URL of a public host.")] = None
    events: Annotated[
        list[str] | None,
        msgspec.Meta(description='Subset of ["running", "completed"]; default ["completed"].'),
    ] = None


class GenerationBody(msgspec.Struct, forbid_unknown_fields=True):
    """POST /v1/images/generations"""

    prompt: Prompt
    # A float field so that `2.0` (a JSON Schema integer) is accepted like `2`; __post_init__
    # makes it an int. The document states `integer` (openapi_docs.tailor).
    n: Annotated[float, msgspec.Meta(ge=1, le=10, multiple_of=1)] = 1
    size: str = "1024x1024"
    quality: Literal["low", "medium", "high", "auto"] = "auto"
    output_format: Literal["png", "jpeg", "webp"] = "png"
    model: Model | None = None
    webhook: WebhookBody | None = None
    # A float holding a whole number, as `n`: JSON Schema counts 2177.0 as an integer.
    deadline_seconds: (
        Annotated[
            float,
            msgspec.Meta(
                ge=1,
                le=86_400,
                multiple_of=1,
                description="A deadline, in seconds.",
            ),
        ]
        | None
    ) = None

    def __post_init__(self) -> None:
        self.n = int(self.n)
        if self.deadline_seconds is not None:
            self.deadline_seconds = int(self.deadline_seconds)


class KeyCreated(msgspec.Struct):
    key: str
    key_id: str
    credits: int


class RefillOut(msgspec.Struct):
    interval: str
    amount: int
    refill_day: int | None


class CreditsOut(msgspec.Struct):
    remaining: int | None
    refill: RefillOut | None
    next_refill_at: str | None


class MeOut(msgspec.Struct):
    key_id: str
    start: str
    credits: CreditsOut


class RequestOut(msgspec.Struct):
    prompt: str
    n: int
    size: str
    quality: str
    output_format: str
    model: str


class JobCreditsOut(msgspec.Struct):
    charged: int
    refunded: int


class ImageOut(msgspec.Struct):
    url: str
    content_type: str
    bytes: int


class ErrorOut(msgspec.Struct):
    code: str
    message: str


class QueueOut(msgspec.Struct):
    position: int  # how many jobs are ahead (0 = next)
    eta_seconds: int | None  # an estimate from recent run times and live workers, or null


class JobOut(msgspec.Struct):
    id: str
    status: Literal["queued", "running", "succeeded", "failed", "canceled", "aborted"]
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str
    request: RequestOut
    credits: JobCreditsOut
    images: list[ImageOut]
    error: ErrorOut | None
    attempts: int
    queue: QueueOut | None  # while queued
    eta_seconds: int | None  # while running: an estimate of the seconds left
    deadline_at: str | None


class JobList(msgspec.Struct):
    data: list[JobOut]
    next_cursor: str | None


class SeedImageOut(msgspec.Struct):
    """The seed demo's answer to /generate_image."""

    image_url: str
    remaining_calls: int | None
    job_id: str


class Problem(msgspec.Struct, omit_defaults=True):
    """RFC 9457 problem details, plus a stable `code`."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, str]] | None = None
    job_id: str | None = None
    checks: dict[str, str] | None = None  # GET /readyz: each dependency's state

    @classmethod
    def of(
        cls,
        status: int,
        code: str,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        job_id: str | None = None,
        checks: dict[str, str] | None = None,
    ) -> Problem:
        """Our problem for `status` and `code`: its type URN and title follow from them."""
        urn = f"urn:imagegate:problem:{code}"
        return cls(urn, HTTPStatus(status).phrase, status, detail, code, errors, job_id, checks)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def job_time(moment: datetime | None) -> str | None:
    """Job timestamps carry milliseconds."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def image_url(job_id: str, index: int) -> str:
    return f"/v1/jobs/{job_id}/images/{index}"


def job_out(job: Job, progress: Progress = NO_PROGRESS) -> JobOut:
    request = job.request
    place = progress.queue
    return JobOut(
        id=job.id,
        status=job.status.value,
        created_at=job_time(job.created_at) or "",
        started_at=job_time(job.started_at),
        finished_at=job_time(job.finished_at),
        expires_at=job_time(job.expires_at) or "",
        request=RequestOut(
            prompt=request.prompt,
            n=request.n,
            size=request.size,
            quality=request.quality.value,
            output_format=request.output_format.value,
            model=request.model,
        ),
        credits=JobCreditsOut(charged=job.charged, refunded=job.refunded),
        images=[
            ImageOut(url=image_url(job.id, i.index), content_type=i.content_type, bytes=i.size)
            for i in job.images
        ],
        error=ErrorOut(job.error.code, job.error.message) if job.error else None,
        attempts=job.attempts,
        queue=None if place is None else QueueOut(place.position, place.eta_seconds),
        eta_seconds=progress.eta_seconds,
        deadline_at=job_time(job.deadline_at),
    )


def refill_out(refill: Refill | None) -> RefillOut | None:
    if refill is None:
        return None
    day = refill.day if refill.interval.value == "monthly" else None
    return RefillOut(interval=refill.interval.value, amount=refill.amount, refill_day=day)


def me_out(info: KeyInfo, next_refill_at: datetime | None) -> MeOut:
    return MeOut(
        key_id=info.key_id,
        start=info.start,
        credits=CreditsOut(
            remaining=info.remaining,
            refill=refill_out(info.refill),
            next_refill_at=iso(next_refill_at),
        ),
    )
