"""Example bodies for the OpenAPI document, shaped as the server sends them."""

from __future__ import annotations

import json
from typing import Any

REQUEST_EXAMPLE = {"prompt": "a lighthouse at dusk, watercolor", "n": 1, "size": "1024x1024"}
JOB_EXAMPLE: dict[str, Any] = {
    "id": "job_3q2Vt0cJm1w8bYQm5f1xZg",
    "status": "queued",
    "created_at": "2026-12-01T10:00:00Z",
    "started_at": None,
    "finished_at": None,
    "expires_at": "2026-12-08T10:00:00Z",
    "request": {
        **REQUEST_EXAMPLE,
        "quality": "auto",
        "output_format": "png",
        "model": "gpt-image-2",
    },
    "credits": {"charged": 1, "refunded": 0},
    "images": [],
    "error": None,
    "attempts": 0,
}
SEED_EXAMPLE = {
    "image_url": "http://localhost:8000/v1/jobs/job_3q2Vt0cJm1w8bYQm5f1xZg/images/0",
    "remaining_calls": 99,
    "job_id": "job_3q2Vt0cJm1w8bYQm5f1xZg",
}

KEY_VIEW_EXAMPLE = {
    "key_id": "key_9f2c1a",
    "start": "ig_4Ab",
    "name": "Acme Corp",
    "external_id": "cus_1001",
    "plan": "pro",
    "meta": {"team": "design"},
    "enabled": True,
    "created_at": "2026-12-01T09:00:00.000Z",
    "expires_at": None,
    "credits": {
        "remaining": 480,
        "refill": {"interval": "monthly", "amount": 500, "refill_day": 1},
        "next_refill_at": "2027-01-01T00:00:00Z",
    },
}

LEDGER_EXAMPLE = {
    "data": [
        {
            "at": "2026-12-01T10:00:00.125Z",
            "kind": "charge",
            "credits": -12,
            "balance": 488,
            "job_id": "job_4fQm2k9XbT1uV7yZ0aLcDe",
            "reason": None,
        }
    ],
    "next_cursor": None,
    "totals": {"charged": 12, "refunded": 0, "net": 12},
}

DELIVERIES_EXAMPLE = {
    "data": [
        {
            "id": "msg_2Kx9QvN4mB7tY1pL",
            "event": "job.succeeded",
            "delivered_at": "2026-12-01T10:00:02.410Z",
            "next_attempt_at": None,
            "attempts": [
                {
                    "at": "2026-12-01T10:00:02.370Z",
                    "status_code": 200,
                    "error": None,
                    "duration_ms": 40,
                }
            ],
        }
    ]
}

# A path parameter's example, by name (the ids of the examples above).
PATH_EXAMPLES: dict[str, Any] = {
    "job_id": JOB_EXAMPLE["id"],
    "index": 0,
    "key_id": KEY_VIEW_EXAMPLE["key_id"],
    "delivery_id": DELIVERIES_EXAMPLE["data"][0]["id"],
}

# A response header's example, by name (openapi_headers.RESPONSE_HEADERS).
HEADER_EXAMPLES = {
    "X-Request-ID": "b7f3c2a1e9d84f06a1c25e7d3b90f4e8",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Accel-Buffering": "no",
    "Location": f"/v1/jobs/{JOB_EXAMPLE['id']}",
    "Retry-After": "1",
    "RateLimit": '"credits";r=99;t=51234',
    "RateLimit-Policy": '"credits";q=100;w=86400',
    "ETag": f'"{JOB_EXAMPLE["id"]}-0-1843201"',
    "Cache-Control": "private, no-cache",
    "Set-Cookie": "imagegate_key=ig_EXAMPLEnotarealkey000000000000; HttpOnly; Path=/; SameSite=lax",
    "WWW-Authenticate": 'Bearer realm="imagegate"',
    "Idempotent-Replayed": "true",
    "Preference-Applied": "wait=30",
}

# One event of GET /v1/jobs/{job_id}/events.
EVENT_EXAMPLE = {"event": "job", "id": "1", "data": json.dumps(JOB_EXAMPLE, separators=(",", ":"))}

# What an operator sends (the plan is replaced by one of the deployment's in the document).
KEY_CREATE_EXAMPLE = {
    "plan": "pro",
    "name": "Acme Corp",
    "external_id": "cus_1001",
    "meta": {"team": "design"},
    "credits": 500,
}
KEY_PATCH_EXAMPLE = {"name": "Acme Design", "enabled": False}
CREDITS_EXAMPLE = {"operation": "increment", "value": 100, "reason": "goodwill"}
REROLL_EXAMPLE = {"grace_seconds": 3600}
