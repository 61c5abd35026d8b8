"""Typed errors: every refusal of the API arrives as one of these, decoded from problem JSON."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from imagegate_client.models import Job

_REMAINING = re.compile(r"\br=(\d+)")


class ImagegateError(Exception):
    """Base of every error the client raises. `code` is the API's stable problem code."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        status: int | None = None,
        request_id: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id
        self.body = body or {}

    def __str__(self) -> str:
        status = f" {self.status}" if self.status else ""
        return f"[{self.code}{status}] {self.message}"


class AuthenticationError(ImagegateError):
    """401: no key, an unknown, revoked, disabled or expired key."""


class PermissionDenied(ImagegateError):
    """403: e.g. minting is switched off, or a cross-origin cookie request."""


class NotFound(ImagegateError):
    """404: unknown ids and other keys' jobs alike."""


class Conflict(ImagegateError):
    """409: e.g. canceling a job that has already finished."""


class InvalidRequest(ImagegateError):
    """400/422: the request was refused before anything was charged."""

    @property
    def errors(self) -> list[dict[str, str]]:
        """The field errors, each `{field, message}`."""
        return list(self.body.get("errors") or [])


class RateLimited(ImagegateError):
    """429 other than an empty balance: too many requests; retry after `retry_after` s."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class QuotaExceeded(RateLimited):
    """429 `quota_exceeded`: not enough credits. `retry_after` = seconds to the next refill
    (None when the plan never refills); `remaining` = the balance now."""

    def __init__(self, message: str, *, remaining: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.remaining = remaining


class ServiceUnavailable(ImagegateError):
    """503 (after the client's own retries), or the service could not be reached."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class GenerationTimeout(ImagegateError):
    """The job did not finish within `timeout`; it was canceled (and refunded)."""

    def __init__(self, message: str, *, job: Job, **kw: Any) -> None:
        super().__init__(message, code="timeout", **kw)
        self.job = job


class GenerationFailed(ImagegateError):
    """The job ended without images (`failed`, `canceled`, `aborted`); `code` is the job's."""

    def __init__(self, message: str, *, job: Job, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.job = job


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def error_from_response(status: int, headers: Any, body: Any) -> ImagegateError:
    """The typed error for a non-2xx answer (`headers`: a case-insensitive mapping)."""
    problem: dict[str, Any] = body if isinstance(body, dict) else {}
    code = str(problem.get("code") or "error")
    message = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
    common: dict[str, Any] = {
        "code": code,
        "status": status,
        "request_id": headers.get("x-request-id"),
        "body": problem,
    }
    retry_after = _seconds(headers.get("retry-after"))
    if status == 429 and code == "quota_exceeded":
        match = _REMAINING.search(headers.get("ratelimit") or "")
        remaining = int(match[1]) if match else None
        return QuotaExceeded(message, retry_after=retry_after, remaining=remaining, **common)
    if status == 429:
        return RateLimited(message, retry_after=retry_after, **common)
    if status == 503:
        return ServiceUnavailable(message, retry_after=retry_after, **common)
    by_status: dict[int, type[ImagegateError]] = {
        400: InvalidRequest,
        401: AuthenticationError,
        403: PermissionDenied,
        404: NotFound,
        409: Conflict,
        413: InvalidRequest,
        415: InvalidRequest,
        422: InvalidRequest,
    }
    return by_status.get(status, ImagegateError)(message, **common)
