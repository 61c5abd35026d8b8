"""Webhook events: what a caller may subscribe to, and the payload each delivery carries.

A submit body may carry `webhook: {url, events?}`. `events` is a subset of
`["running", "completed"]` (default `["completed"]`; completed = any terminal status). Each job
transition the caller subscribed to becomes one event of type `job.<status>`; its payload is
`{"type", "timestamp" (UTC, milliseconds, "Z"), "data": <the job resource>}`. The job resource is
rendered by the HTTP edge and passed in as JSON-ready data, so the payload matches
`GET /v1/jobs/{id}` exactly.

Standard library only. Its errors (domain/errors.py) are InvalidRequest's (422 at the edge) and
name their field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from domain.errors import InvalidRequest, InvalidWebhookUrl


class EventType(StrEnum):
    JOB_RUNNING = "job.running"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELED = "job.canceled"
    JOB_ABORTED = "job.aborted"
    KEY_CREDITS_LOW = "key.credits_low"
    KEY_CREDITS_EXHAUSTED = "key.credits_exhausted"


class Subscription(StrEnum):
    """What a caller names in `webhook.events`."""

    RUNNING = "running"
    COMPLETED = "completed"


DEFAULT_EVENTS = frozenset({Subscription.COMPLETED})
_TERMINAL_EVENTS = {
    "succeeded": EventType.JOB_SUCCEEDED,
    "failed": EventType.JOB_FAILED,
    "canceled": EventType.JOB_CANCELED,
    "aborted": EventType.JOB_ABORTED,
}


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """A job's webhook: where to call and which transitions to report."""

    url: str
    events: frozenset[Subscription] = DEFAULT_EVENTS

    def event_for(self, status: str) -> EventType | None:
        """The event a transition to `status` (a JobStatus value) fires, if subscribed to."""
        if status == "running":
            return EventType.JOB_RUNNING if Subscription.RUNNING in self.events else None
        event = _TERMINAL_EVENTS.get(status)
        if event is None or Subscription.COMPLETED not in self.events:
            return None
        return event


def parse_webhook(raw: object) -> WebhookRequest:
    """The submit body's `webhook` member (already JSON-decoded) → a request, or 422 naming the
    field. The URL's SSRF check is separate (`webhook_urls.validate_webhook_url`): it resolves."""
    if not isinstance(raw, Mapping):
        raise InvalidRequest("webhook must be an object {url, events?}.", field="webhook")
    unknown = set(raw) - {"url", "events"}
    if unknown:
        name = sorted(str(k) for k in unknown)[0]
        raise InvalidRequest(f"Unknown webhook member {name!r}.", field=f"webhook.{name}")
    url = raw.get("url")
    if not isinstance(url, str) or not url.strip():
        raise InvalidWebhookUrl("webhook.url is required and must be a string.")
    if len(url) > 2048:
        raise InvalidWebhookUrl("webhook.url is longer than 2048 characters.")
    return WebhookRequest(url=url, events=_parse_events(raw.get("events")))


def _parse_events(raw: object) -> frozenset[Subscription]:
    if raw is None:
        return DEFAULT_EVENTS
    allowed = [s.value for s in Subscription]
    problem = f"webhook.events must be a non-empty list drawn from {allowed}."
    if not isinstance(raw, list) or not raw:
        raise InvalidRequest(problem, field="webhook.events")
    try:
        return frozenset(Subscription(item) for item in raw)
    except (ValueError, TypeError):
        raise InvalidRequest(problem, field="webhook.events") from None


def event_timestamp(moment: datetime) -> str:
    """`2026-01-15T12:00:00.123Z`: UTC with milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_payload(event: EventType, data: Mapping[str, Any], at: datetime) -> bytes:
    """The exact bytes every attempt of one delivery sends (and signs)."""
    body = {"type": event.value, "timestamp": event_timestamp(at), "data": data}
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
