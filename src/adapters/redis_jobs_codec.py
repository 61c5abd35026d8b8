"""How jobs are laid out in Redis: key names, hash fields, list cursors."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from domain.errors import InvalidCursor
from domain.models import (
    ImageRequest,
    Job,
    JobDraft,
    JobError,
    JobStatus,
    OutputFormat,
    Quality,
    StoredImage,
)


def ts(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(raw: str) -> datetime | None:
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def images_json(images: Sequence[StoredImage]) -> str:
    # Each image names the attempt that stored it: the image store keeps attempts apart.
    return json.dumps([[i.index, i.content_type, i.size, i.attempt] for i in images])


def error_json(error: JobError) -> str:
    return json.dumps({"code": error.code, "message": error.message})


class JobKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.leases = f"{prefix}:leases"  # running job → lease expiry (ms)
        self.outbox = f"{prefix}:outbox"  # queued job → when to make sure the broker has it (ms)
        self.refunds = f"{prefix}:refunds"  # ended job whose refund is owed → since (ms)
        # Queued jobs in line (see redis_queue_place.QueueKeys) and the change channel
        # (redis_job_changes.changes_channel): every transition keeps both.
        self.queue = f"{prefix}:queue"
        self.queue_seq = f"{prefix}:queue:seq"
        self.changes = f"{prefix}:jobs:changed"
        self.deadlines = f"{prefix}:deadlines"  # queued or running job → its deadline (ms)
        self.run_seconds = f"{prefix}:run_seconds"  # recent run durations (redis_queue_place)

    def job(self, job_id: str) -> str:
        return f"{self.prefix}:job:{job_id}"

    def owner_index(self, owner: str) -> str:
        return f"{self.prefix}:jobs:{owner}"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def request_json(request: ImageRequest) -> str:
    return json.dumps(
        {
            "prompt": request.prompt,
            "n": request.n,
            "size": request.size,
            "quality": request.quality.value,
            "output_format": request.output_format.value,
            "model": request.model,
        }
    )


def encode_job(job: Job) -> dict[str, str]:
    return {
        "id": job.id,
        "owner": job.owner,
        "status": job.status.value,
        "request": request_json(job.request),
        "created_at": ts(job.created_at),
        "expires_at": ts(job.expires_at),
        "started_at": ts(job.started_at),
        "finished_at": ts(job.finished_at),
        "charged": str(job.charged),
        "refunded": str(job.refunded),
        "refund_claimed": "1" if job.refunded else "0",
        "images": images_json(job.images),
        "error": error_json(job.error) if job.error else "",
        "attempts": str(job.attempts),
        "request_id": job.request_id or "",
        # Read by the transition scripts (lib_webhook_event.lua) to record webhook events.
        "webhook_url": job.webhook_url or "",
        "webhook_events": ",".join(job.webhook_events),
        "version": str(job.version),
        "deadline_at": ts(job.deadline_at),
        "deadline_ms": str(ms(job.deadline_at)) if job.deadline_at else "",
    }


def encode_draft(draft: JobDraft) -> dict[str, str]:
    """A new job's fields but its owner, which job_admit.lua writes (the charged key's id);
    the same fields `encode_job` gives the queued job."""
    return {
        "id": draft.id,
        "status": JobStatus.QUEUED.value,
        "request": request_json(draft.request),
        "created_at": ts(draft.created_at),
        "expires_at": ts(draft.expires_at),
        "started_at": "",
        "finished_at": "",
        "charged": str(draft.charged),
        "refunded": "0",
        "refund_claimed": "0",
        "images": images_json(()),
        "error": "",
        "attempts": "0",
        "request_id": draft.request_id or "",
        "webhook_url": draft.webhook_url or "",
        "webhook_events": ",".join(draft.webhook_events),
        "version": "1",
        "deadline_at": ts(draft.deadline_at),
        "deadline_ms": str(ms(draft.deadline_at)) if draft.deadline_at else "",
    }


def decode_job(raw: dict[Any, Any] | list[Any]) -> Job:
    if isinstance(raw, list):  # HGETALL from Lua arrives as a flat list
        raw = dict(zip(raw[::2], raw[1::2], strict=True))
    fields = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in raw.items()
    }
    request = json.loads(fields["request"])
    error = json.loads(fields["error"]) if fields.get("error") else None
    created_at = datetime.fromisoformat(fields["created_at"].replace("Z", "+00:00"))
    expires_at = datetime.fromisoformat(fields["expires_at"].replace("Z", "+00:00"))
    return Job(
        id=fields["id"],
        owner=fields["owner"],
        status=JobStatus(fields["status"]),
        request=ImageRequest(
            prompt=request["prompt"],
            n=request["n"],
            size=request["size"],
            quality=Quality(request["quality"]),
            output_format=OutputFormat(request["output_format"]),
            model=request["model"],
        ),
        created_at=created_at,
        expires_at=expires_at,
        started_at=parse_ts(fields.get("started_at", "")),
        finished_at=parse_ts(fields.get("finished_at", "")),
        charged=int(fields["charged"]),
        refunded=int(fields.get("refunded", "0")),
        images=tuple(StoredImage(*image) for image in json.loads(fields.get("images", "[]"))),
        error=JobError(error["code"], error["message"]) if error else None,
        attempts=int(fields.get("attempts", "0")),
        request_id=fields.get("request_id") or None,
        webhook_url=fields.get("webhook_url") or None,
        webhook_events=tuple(e for e in fields.get("webhook_events", "").split(",") if e),
        version=int(fields.get("version") or "0"),
        deadline_at=parse_ts(fields.get("deadline_at", "")),
    )


def record_bounds(job: Job | JobDraft) -> tuple[int, str]:
    """When the job's keys expire (epoch s), and the owner-index member below which entries
    belong to expired jobs."""
    ttl_ms = ms(job.expires_at) - ms(job.created_at)
    return int(job.expires_at.timestamp()) + 1, f"{ms(job.created_at) - ttl_ms:013d}"


def index_member(job: Job | JobDraft) -> str:
    # Lexicographic order of "<created ms>:<id>" = creation order; ids break ties.
    return f"{ms(job.created_at):013d}:{job.id}"


def encode_cursor(member: str) -> str:
    return base64.urlsafe_b64encode(member.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    try:
        member = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor() from None
    if ":" not in member:
        raise InvalidCursor()
    return member
