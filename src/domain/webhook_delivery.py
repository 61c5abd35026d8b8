"""One webhook delivery attempt, and what to do after it.

Policy (`decide`): a 2xx answer is delivered; 410 Gone stops for good (the receiver asked us to);
anything else — other statuses including 3xx (redirects are never followed, so a redirect is a
failure), timeouts, refused connections, a refused address — is retried with backoff. The first
retry waits `base_seconds` (WEBHOOK_RETRY_BASE_SECONDS, default 5), each next one 4x longer, capped
at one hour; after `max_attempts` (WEBHOOK_MAX_ATTEMPTS, default 8) attempts it is given up. With
the defaults the retries wait 5 s, 20 s, 80 s, 320 s, 1280 s, 3600 s, 3600 s: about 2.5 hours.
Nothing from the receiver (Retry-After, bodies) changes this: the schedule is ours.

`deliver_once` signs and sends one attempt through a `WebhookSender` port and returns the
attempt record (`{at, status_code, error, duration_ms}`, what the delivery log shows) and the
decision. It raises nothing for a receiver's failure: every failure is a logged attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from domain.ports import Clock
from domain.webhook_signing import signed_headers
from domain.webhooks import event_timestamp


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"
    GAVE_UP = "gave_up"  # attempts spent
    STOPPED = "stopped"  # the receiver answered 410


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 5.0
    factor: float = 4.0
    cap_seconds: float = 3600.0

    def delay_after(self, attempt_number: int) -> timedelta:
        """How long to wait after the `attempt_number`-th attempt (1-based) failed."""
        seconds = self.base_seconds * self.factor ** (attempt_number - 1)
        return timedelta(seconds=min(seconds, self.cap_seconds))


@dataclass(frozen=True, slots=True)
class Attempt:
    """One entry of the delivery log."""

    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    next_attempt_at: datetime | None = None  # set only for RETRY


def decide(
    status_code: int | None, attempt_number: int, now: datetime, policy: RetryPolicy
) -> Decision:
    """After the `attempt_number`-th attempt (1-based) answered `status_code` (None: no answer)."""
    if status_code is not None and 200 <= status_code < 300:
        return Decision(Outcome.DELIVERED)
    if status_code == 410:
        return Decision(Outcome.STOPPED)
    if attempt_number >= policy.max_attempts:
        return Decision(Outcome.GAVE_UP)
    return Decision(Outcome.RETRY, next_attempt_at=now + policy.delay_after(attempt_number))


@dataclass(frozen=True, slots=True)
class SendResult:
    status_code: int | None  # None: no HTTP answer (see `error`)
    error: str | None
    duration_ms: int


class WebhookSender(Protocol):
    def send(self, url: str, headers: dict[str, str], body: bytes) -> SendResult:
        """POST once; never raises for the receiver's failures (they come back in the result)."""
        ...


def deliver_once(
    *,
    url: str,
    webhook_id: str,
    body: bytes,
    secret: str,
    attempt_number: int,
    sender: WebhookSender,
    clock: Clock,
    policy: RetryPolicy,
) -> tuple[Attempt, Decision]:
    """Sign (with this attempt's timestamp) and send one attempt; the log entry and what next."""
    at = clock.now()
    result = sender.send(url, signed_headers(secret, webhook_id, at, body), body)
    error = result.error
    if error is None and result.status_code is not None and not 200 <= result.status_code < 300:
        error = f"HTTP {result.status_code}"
    attempt = Attempt(at, result.status_code, error, result.duration_ms)
    return attempt, decide(result.status_code, attempt_number, clock.now(), policy)


def attempt_json(attempt: Attempt) -> dict[str, Any]:
    """The delivery log's rendering of an attempt (timestamps in UTC, milliseconds, `Z`)."""
    return {
        "at": event_timestamp(attempt.at),
        "status_code": attempt.status_code,
        "error": attempt.error,
        "duration_ms": attempt.duration_ms,
    }
