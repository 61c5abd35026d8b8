"""The submit body's `webhook` member, the events it subscribes to, and the payload."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain.errors import InvalidRequest, InvalidWebhookUrl
from domain.webhooks import (
    EventType,
    Subscription,
    WebhookRequest,
    event_payload,
    parse_webhook,
)

URL = "https://hooks.example.com/in"


def test_events_default_to_completed() -> None:
    request = parse_webhook({"url": URL})
    assert request.events == {Subscription.COMPLETED}
    assert request.event_for("running") is None
    assert request.event_for("succeeded") is EventType.JOB_SUCCEEDED
    assert request.event_for("failed") is EventType.JOB_FAILED
    assert request.event_for("canceled") is EventType.JOB_CANCELED
    assert request.event_for("aborted") is EventType.JOB_ABORTED
    assert request.event_for("queued") is None


def test_running_only() -> None:
    request = parse_webhook({"url": URL, "events": ["running"]})
    assert request.event_for("running") is EventType.JOB_RUNNING
    assert request.event_for("succeeded") is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"url": URL, "events": ["done"]}, "webhook.events"),
        ({"url": URL, "events": []}, "webhook.events"),
        ({"url": URL, "events": "completed"}, "webhook.events"),
        ({"url": URL, "events": [1]}, "webhook.events"),
        ({"events": ["running"]}, "webhook.url"),
        ({"url": 5}, "webhook.url"),
        ({"url": URL, "secret": "x"}, "webhook.secret"),
        ("https://x", "webhook"),
    ],
)
def test_bad_webhook_members_name_their_field(raw: object, field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_webhook(raw)
    assert caught.value.field == field


def test_a_bad_url_is_invalid_webhook_url() -> None:
    with pytest.raises(InvalidWebhookUrl) as caught:
        parse_webhook({"url": ""})
    assert caught.value.code == "invalid_webhook_url"


def test_payload_shape() -> None:
    at = datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC)
    body = event_payload(EventType.JOB_SUCCEEDED, {"id": "job_1", "status": "succeeded"}, at)
    assert json.loads(body) == {
        "type": "job.succeeded",
        "timestamp": "2026-01-15T12:00:00.123Z",
        "data": {"id": "job_1", "status": "succeeded"},
    }
    assert WebhookRequest(URL).events == {Subscription.COMPLETED}
