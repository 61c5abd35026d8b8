"""Domain values: plans, keys, credits, image requests and jobs. Standard library only."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum


class RefillInterval(StrEnum):
    DAILY = "daily"
    MONTHLY = "monthly"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Refill:
    """How a key's balance is topped up: set (never added) to `amount` at each boundary."""

    interval: RefillInterval
    amount: int
    day: int = 1  # monthly only: 1..31, clamped to the month's last day


@dataclass(frozen=True, slots=True)
class Plan:
    """What a newly minted key gets."""

    credits: int
    refill: Refill | None
    name: str = "default"

    @classmethod
    def build(cls, credits: int, interval: RefillInterval, amount: int, day: int = 1) -> Plan:
        if interval is RefillInterval.NONE:
            return cls(credits=credits, refill=None)
        return cls(credits=credits, refill=Refill(interval=interval, amount=amount, day=day))


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly minted key. `key` is the only time the raw secret is seen."""

    key: str
    key_id: str
    credits: int


class KeyStatus(StrEnum):
    """The verdict of a charge; mirrors Unkey v2's verify codes."""

    VALID = "VALID"
    NOT_FOUND = "NOT_FOUND"
    DISABLED = "DISABLED"
    EXPIRED = "EXPIRED"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    USAGE_EXCEEDED = "USAGE_EXCEEDED"


@dataclass(frozen=True, slots=True)
class Charge:
    """The outcome of verify-and-charge. A refused charge took nothing.

    `remaining` is the balance after the call (None: unlimited or unknown key);
    `refill` is the key's refill setting when the provider knows it; `plan` the name of the
    key's plan when the provider says (the operator's credit alerts are per plan).
    """

    status: KeyStatus
    key_id: str | None = None
    remaining: int | None = None
    refill: Refill | None = None
    plan: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is KeyStatus.VALID


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What `/v1/me` shows: never the secret, only its first characters."""

    key_id: str
    start: str
    remaining: int | None
    refill: Refill | None


class Quality(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    AUTO = "auto"


class OutputFormat(StrEnum):
    PNG = "png"
    JPEG = "jpeg"
    WEBP = "webp"

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"


@dataclass(frozen=True, slots=True)
class ImageRequest:
    prompt: str
    n: int = 1
    size: str = "1024x1024"
    quality: Quality = Quality.AUTO
    output_format: OutputFormat = OutputFormat.PNG
    model: str = ""

    @property
    def dimensions(self) -> tuple[int, int]:
        """Pixel size; `auto` renders as a square."""
        if self.size == "auto":
            return (1024, 1024)
        width, _, height = self.size.partition("x")
        return (int(width), int(height))


@dataclass(frozen=True, slots=True)
class GeneratedImage:
    data: bytes
    content_type: str


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    ABORTED = "aborted"  # still queued at its deadline; costs nothing (refunded in full)

    @property
    def terminal(self) -> bool:
        return self in (
            JobStatus.SUCCEEDED,
            JobStatus.FAILED,
            JobStatus.CANCELED,
            JobStatus.ABORTED,
        )


class ClaimResult(StrEnum):
    CLAIMED = "claimed"  # this worker now runs the job
    BUSY = "busy"  # another worker holds a live lease on it
    FINISHED = "finished"  # terminal or expired: nothing to do
    EXHAUSTED = "exhausted"  # every attempt was used up


@dataclass(frozen=True, slots=True)
class JobError:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class StoredImage:
    index: int
    content_type: str
    size: int
    attempt: int  # the attempt that stored it: each attempt's bytes are kept apart


@dataclass(frozen=True, slots=True)
class Claim:
    result: ClaimResult
    job: Job | None = None  # CLAIMED: as this attempt runs it (`attempts` is its number);
    # EXHAUSTED: as it was left


def new_job_id() -> str:
    # 128 random bits (> the 122 of a UUID4), URL-safe.
    return "job_" + secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    owner: str  # the key id; never the key
    status: JobStatus
    request: ImageRequest
    created_at: datetime
    expires_at: datetime
    charged: int
    refunded: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    images: tuple[StoredImage, ...] = field(default_factory=tuple)
    error: JobError | None = None
    attempts: int = 0
    request_id: str | None = None
    # The caller's webhook (domain.webhooks.WebhookRequest as plain values; never a secret).
    webhook_url: str | None = None
    webhook_events: tuple[str, ...] = ()
    version: int = 1  # bumped by every change; a recorded job starts at 1
    deadline_at: datetime | None = None  # past it a queued job is aborted, a running one canceled

    @classmethod
    def queued(
        cls,
        *,
        owner: str,
        request: ImageRequest,
        now: datetime,
        ttl: timedelta,
        request_id: str | None = None,
    ) -> Job:
        return JobDraft.new(request=request, now=now, ttl=ttl, request_id=request_id).owned_by(
            owner
        )

    def evolve(self, **changes: object) -> Job:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class JobDraft:
    """A job before admission: everything but its owner, which only the charge knows (the
    charged key's id). `owned_by` makes it the queued Job."""

    id: str
    request: ImageRequest
    created_at: datetime
    expires_at: datetime
    request_id: str | None = None
    charged: int = 0  # the job's price in credits (see domain/pricing.py)
    webhook_url: str | None = None  # as on Job
    webhook_events: tuple[str, ...] = ()
    deadline_at: datetime | None = None  # as on Job

    @classmethod
    def new(
        cls,
        *,
        request: ImageRequest,
        now: datetime,
        ttl: timedelta,
        request_id: str | None = None,
        charged: int | None = None,
    ) -> JobDraft:
        """`charged` defaults to one credit per image."""
        price = request.n if charged is None else charged
        return cls(new_job_id(), request, now, now + ttl, request_id, price)

    def owned_by(self, key_id: str) -> Job:
        return Job(
            id=self.id,
            owner=key_id,
            status=JobStatus.QUEUED,
            request=self.request,
            created_at=self.created_at,
            expires_at=self.expires_at,
            charged=self.charged,
            request_id=self.request_id,
            webhook_url=self.webhook_url,
            webhook_events=self.webhook_events,
            deadline_at=self.deadline_at,
        )
