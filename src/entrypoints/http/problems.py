"""One table from error to HTTP status; every error leaves as RFC 9457 problem JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http import HTTPStatus

from litestar import Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.datastructures import ResponseSpec
from litestar.types import ExceptionHandlersMap

from domain import errors
from entrypoints.http.auth import AnyRequest
from entrypoints.http.quota_headers import QuotaHeaders
from entrypoints.http.schemas import Problem

log = logging.getLogger("imagegate.http")

PROBLEM_JSON = "application/problem+json"

# HTTP status → the domain errors answered with it; an error takes the status of its nearest
# listed class (its own, else its closest base), anything unlisted 500. Generation errors reach
# HTTP only through the seed alias, which answers a failed job synchronously.
_ERRORS_BY_STATUS: dict[int, tuple[type[errors.DomainError], ...]] = {
    401: (errors.Unauthenticated, errors.InvalidKey),
    403: (errors.Forbidden,),
    404: (errors.JobNotFound, errors.KeyNotFound, errors.ImageNotFound),
    409: (errors.Conflict, errors.JobNotCancelable),
    422: (errors.InvalidRequest, errors.ContentPolicyViolation, errors.UpstreamInvalidRequest),
    429: (errors.QuotaExceeded, errors.RateLimited),
    502: (errors.GenerationError,),
    503: (errors.QuotaUnavailable, errors.QueueUnavailable, errors.StoreUnavailable),
}
STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    error: status for status, listed in _ERRORS_BY_STATUS.items() for error in listed
}

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    500: "internal",
    503: "unavailable",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI entries for the problem responses a route may answer."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=HTTPStatus(status).phrase,
            media_type=PROBLEM_JSON,
            generate_examples=False,
        )
        for status in statuses
    }


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
    errors_list: list[dict[str, str]] | None = None,
    job_id: str | None = None,
) -> Response[Problem]:
    return Response(
        Problem.of(status, code, detail, errors=errors_list, job_id=job_id),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        status = STATUS_BY_ERROR.get(cls)
        if status is not None:
            return status
    return 500


def status_for_job_error(code: str) -> int:
    """A failed job's error code, answered synchronously: the table's status for it."""
    for error_type, status in STATUS_BY_ERROR.items():
        if issubclass(error_type, errors.GenerationError) and error_type.code == code:
            return status
    return 502


def domain_error_response(
    exc: errors.DomainError, quota_headers: QuotaHeaders
) -> Response[Problem]:
    status = status_for(exc)
    headers: dict[str, str] = {}
    errors_list = None
    if isinstance(exc, errors.InvalidRequest) and exc.field:
        errors_list = [{"field": exc.field, "message": exc.detail}]
    if isinstance(exc, errors.RetryLater) and exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    elif status == 503:
        headers["Retry-After"] = "2"
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="imagegate"'
    if isinstance(exc, errors.QuotaExceeded):
        headers.update(quota_headers(exc.remaining, exc.refill))
    if status == 500:
        log.error("unmapped domain error %s", type(exc).__name__)
    return problem_response(status, exc.code, exc.detail, headers=headers, errors_list=errors_list)


def validation_handler(request: AnyRequest, exc: ValidationException) -> Response[Problem]:
    detail = str(exc.detail)
    if "malformed" in detail.lower():
        return malformed_json()
    fields: list[dict[str, str]] = []
    for item in exc.extra if isinstance(exc.extra, list) else []:
        if not isinstance(item, dict):
            continue
        # Litestar names a parameter as the handler spells it: a query parameter named by a
        # Python keyword is `from_` there, `from` in the request.
        key = str(item.get("key", "")).removesuffix("_")
        message = str(item.get("message", "invalid"))
        if key == "data":
            message = message if message.startswith(("Expected", "Object")) else "required"
            fields.append({"field": "body", "message": message})
        else:
            fields.append({"field": key, "message": message})
    if fields:
        first = fields[0]
        summary = f"{first['field']}: {first['message']}"
        if first["field"] == "body" and first["message"] == "required":
            summary = "A JSON object body is required."
        return problem_response(422, "invalid_request", summary, errors_list=fields)
    return problem_response(400, "bad_request", detail)


class MalformedJson(HTTPException):
    """A body that cannot be decoded as JSON (syntax, encoding, nesting)."""

    status_code = 400
    detail = "The request body is not valid JSON."


def malformed_json() -> Response[Problem]:
    return problem_response(400, "malformed_json", "The request body is not valid JSON.")


def http_exception_handler(request: AnyRequest, exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    if isinstance(exc, MalformedJson) or (status == 400 and "malformed" in str(exc.detail)):
        return malformed_json()
    code = _CODE_BY_STATUS.get(status, "error")
    headers = dict(exc.headers or {})
    return problem_response(status, code, str(exc.detail), headers=headers)


def too_deep_handler(request: AnyRequest, exc: RecursionError) -> Response[Problem]:
    """A body nested past the recursion limit, on a route whose guards did not decode it
    first: the decoder gave up, and the answer is the same as for any undecodable body."""
    log.info("undecodable body on %s %s: nested too deeply", request.method, request.url.path)
    return malformed_json()


def internal_error_handler(request: AnyRequest, exc: Exception) -> Response[Problem]:
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(500, "internal", "Something went wrong on our side.")


def exception_handlers(quota_headers: QuotaHeaders) -> ExceptionHandlersMap:
    """Every error leaves here; `quota_headers` puts the balance on a 429 for credits."""

    def domain_error_handler(request: AnyRequest, exc: errors.DomainError) -> Response[Problem]:
        return domain_error_response(exc, quota_headers)

    handlers: dict[type[Exception], Callable[..., Response[Problem]]] = {
        errors.DomainError: domain_error_handler,
        ValidationException: validation_handler,
        HTTPException: http_exception_handler,
        RecursionError: too_deep_handler,
        Exception: internal_error_handler,
    }
    return handlers  # type: ignore[return-value]  # Litestar types handlers by Exception only
