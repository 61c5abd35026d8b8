"""Every header the server reads or sends, described once for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar.openapi.spec import OpenAPIType, Schema

from domain.deadlines import CANCEL_AFTER_PATTERN
from entrypoints.http.auth import COOKIE_NAME


def string(**extra: Any) -> Schema:
    return Schema(type=OpenAPIType.STRING, **extra)


# Every header the server reads, by name.
REQUEST_HEADERS: dict[str, tuple[str, Schema]] = {
    "X-Request-ID": (
        "Your id for this request (1-128 of `A-Za-z0-9._:-`), echoed back and logged; "
        "another value is replaced by one the server makes.",
        string(),
    ),
    "Idempotency-Key": (
        "Retrying with the same key and body replays the first answer without charging again "
        "(kept 24 h, scoped to your API key); the same key with another body is a 422.",
        string(min_length=1, max_length=255),
    ),
    "Prefer": (
        "`wait=N`: long-poll until the job is terminal or N seconds (≤ 60) pass.",
        string(),
    ),
    "Last-Event-ID": (
        "The `id` of the last event you saw: the stream resumes after it, without repeats.",
        string(),
    ),
    "If-None-Match": (
        "An ETag from an earlier download: 304 when it still matches.",
        string(),
    ),
    # Browsers send these themselves; a cross-site one refuses a cookie-guarded request (403).
    "Origin": ("The page's origin: another site's is a 403 here (cross-site forgery).", string()),
    "Referer": ("Without an Origin, a page of another site is a 403 here.", string()),
    "Sec-Fetch-Site": ("`cross-site` or `same-site` is a 403 here.", string()),
    "Cancel-After": (
        "A deadline, 1 s to 24 h (90, 90s, 5m, 1h): queued past it the job is aborted, running "
        "canceled, refunded either way; a body's deadline_seconds wins.",
        string(pattern=f"^(?:{CANCEL_AFTER_PATTERN})$"),
    ),
}

# What a state-changing operation that sets or takes the key cookie reads (openapi_docs.tailor).
BROWSER = ("Origin", "Referer", "Sec-Fetch-Site")

# Every header the server sends, by name.
RESPONSE_HEADERS: dict[str, str] = {
    "X-Request-ID": "The request's id (yours if it was acceptable, else one the server made).",
    "X-Content-Type-Options": "`nosniff`: a browser takes the content type as given.",
    "X-Frame-Options": "`DENY`: no page may frame the answer.",
    "Content-Security-Policy": "`default-src 'none'; frame-ancestors 'none'` on the API.",
    "Referrer-Policy": "`no-referrer` on the API.",
    "X-Accel-Buffering": "`no` on an event stream, so a proxy passes each event at once.",
    "Location": "Where the created job is (after /authorize: `/me`).",
    "Retry-After": "Seconds to wait before polling or retrying.",
    "RateLimit": 'Credits left and seconds to the next refill: `"credits";r=N;t=S`.',
    "RateLimit-Policy": 'The plan\'s refill: `"credits";q=AMOUNT;w=PERIOD_SECONDS`.',
    "ETag": "The image's entity tag, for If-None-Match.",
    "Cache-Control": "How long a cache may keep the answer.",
    "Set-Cookie": f"The HttpOnly `{COOKIE_NAME}` cookie (set, or cleared on revoke).",
    "WWW-Authenticate": "`Bearer` on a 401.",
    "Idempotent-Replayed": "`true` when this is the replayed first answer to an Idempotency-Key.",
    "Preference-Applied": "The `Prefer: wait=N` that was honoured.",
}

# The headers every response carries (the request id, and security_headers.py's).
ALWAYS_SENT = (
    "X-Request-ID",
    "X-Content-Type-Options",
    "X-Frame-Options",
    "Content-Security-Policy",
    "Referrer-Policy",
)

# The headers every response with this status carries.
HEADERS_BY_STATUS: dict[int, tuple[str, ...]] = {
    401: ("WWW-Authenticate",),
    429: ("Retry-After", "RateLimit", "RateLimit-Policy"),
    503: ("Retry-After",),
}
IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/webp")
