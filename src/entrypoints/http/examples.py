"""Example bodies for the OpenAPI document, shaped as the server sends them."""

from __future__ import annotations

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
