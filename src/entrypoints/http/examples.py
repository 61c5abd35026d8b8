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
