"""What Client and AsyncClient share, with no I/O: settings, request bodies, retry policy and
decoding of answers. The two clients only move bytes."""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import httpx

from imagegate_client.errors import (
    GenerationFailed,
    GenerationTimeout,
    ImagegateError,
    ServiceUnavailable,
    error_from_response,
)
from imagegate_client.models import Job

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
RETRY_STATUSES = frozenset({503})
LONG_POLL_SECONDS = 30.0  # below common proxy idle timeouts
try:
    __version__ = version("imagegate-client")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0+unknown"


class NoEventStream(Exception):
    """The events route answered without a stream (an older server); args[0]: the error."""


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries of 503 answers and connection errors, honouring Retry-After."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 10.0

    def delay(self, attempt: int, response: httpx.Response | None) -> float:
        header = response.headers.get("retry-after") if response is not None else None
        try:
            wanted = float(header) if header is not None else None
        except ValueError:
            wanted = None
        if wanted is None:
            wanted = self.base_delay * 2**attempt
        return max(0.0, min(wanted, self.max_delay))

    def should_retry(self, attempt: int, response: httpx.Response | None) -> bool:
        if attempt + 1 >= self.attempts:
            return False
        return response is None or response.status_code in RETRY_STATUSES


def resolve(base_url: str | None, api_key: str | None) -> tuple[str, str | None]:
    base = base_url or os.environ.get("IMAGEGATE_BASE_URL") or DEFAULT_BASE_URL
    return base.rstrip("/"), api_key or os.environ.get("IMAGEGATE_API_KEY") or None


def headers(api_key: str | None) -> dict[str, str]:
    result = {"User-Agent": f"imagegate-client/{__version__}", "Accept": "application/json"}
    if api_key:
        result["Authorization"] = f"Bearer {api_key}"
    return result


def new_idempotency_key() -> str:
    return f"igc_{uuid.uuid4().hex}"


def generation_body(
    prompt: str,
    *,
    n: int,
    size: str | None,
    quality: str | None,
    output_format: str | None,
    model: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, "n": n}
    optional = {"size": size, "quality": quality, "output_format": output_format, "model": model}
    body.update({name: value for name, value in optional.items() if value is not None})
    return body


def decode(response: httpx.Response) -> Any:
    """The JSON body of a 2xx answer, or the typed error."""
    try:
        body = response.json() if response.content else None
    except ValueError:
        body = None
    if response.is_success:
        return body
    raise error_from_response(response.status_code, response.headers, body)


def unreachable(exc: httpx.TransportError) -> ImagegateError:
    return ServiceUnavailable(
        f"imagegate could not be reached: {type(exc).__name__}: {exc}", code="unreachable"
    )


def sse_missing(response: httpx.Response) -> bool:
    """True when the server has no event stream for jobs (an older server): wait by polling."""
    content_type = response.headers.get("content-type", "")
    if response.status_code in {404, 405, 406, 501}:
        return True
    return response.is_success and not content_type.startswith("text/event-stream")


def poll_wait(deadline: float | None) -> float:
    """How long the next long-poll may hold (≤ 0: the deadline has passed)."""
    if deadline is None:
        return LONG_POLL_SECONDS
    return min(deadline - time.monotonic(), LONG_POLL_SECONDS)


def stream_read_timeout(deadline: float | None) -> float:
    """Longer than the server's 15 s pings, never past the deadline."""
    if deadline is None:
        return 45.0
    return max(0.1, min(deadline - time.monotonic(), 45.0))


def options(given: dict[str, str | None]) -> dict[str, str | None]:
    known = ("size", "quality", "output_format", "model")
    unknown = set(given) - set(known)
    if unknown:
        raise TypeError(f"unexpected options: {sorted(unknown)}")
    return {name: given.get(name) for name in known}


def image_fields(image: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": image["url"],
        "content_type": image.get("content_type", ""),
        "size": image.get("bytes", 0),
    }


def failure(job: Job) -> GenerationFailed:
    error = job.error or {}
    return GenerationFailed(
        error.get("message", f"The job ended {job.status}."),
        code=error.get("code", job.status),
        job=job,
    )


def timed_out(job: Job) -> GenerationTimeout:
    return GenerationTimeout(f"Job {job.id} did not finish in time; it is {job.status}.", job=job)


def missing_stream_error(response: httpx.Response) -> ImagegateError:
    """What `jobs.stream` raises when the events route answered without a stream."""
    try:
        decode(response)
    except ImagegateError as error:
        return error
    return ImagegateError("This server has no event stream for jobs.", code="no_event_stream")
