"""The submit-time gate for webhooks and the deliveries job transitions produce."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from domain.errors import InvalidRequest, InvalidWebhookUrl, WebhooksDisabled
from domain.webhook_log import Delivery, DeliveryState
from domain.webhook_service import WebhookSecrets, accept_webhook, job_event_delivery
from domain.webhook_signing import derive_secret
from domain.webhooks import Subscription, WebhookRequest

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
SECRETS = WebhookSecrets(master_key="test-master-signing-key")


class NoDns:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def resolve(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        return ["93.184.216.34"] if host == "hooks.example.com" else []


def test_accepts_a_good_webhook() -> None:
    request = accept_webhook(
        {"url": "https://hooks.example.com/in", "events": ["running", "completed"]},
        secrets=SECRETS,
        resolver=NoDns(),
        allow_private=False,
    )
    assert request.events == {Subscription.RUNNING, Subscription.COMPLETED}


def test_without_a_signing_key_webhooks_are_disabled_before_any_lookup() -> None:
    resolver = NoDns()
    with pytest.raises(WebhooksDisabled) as caught:
        accept_webhook(
            {"url": "https://hooks.example.com/in"},
            secrets=WebhookSecrets(master_key=None),
            resolver=resolver,
            allow_private=False,
        )
    assert caught.value.code == "webhooks_disabled"
    assert resolver.asked == []


@pytest.mark.parametrize(
    ("raw", "error", "field"),
    [
        ({"url": "https://127.0.0.1/"}, InvalidWebhookUrl, "webhook.url"),
        ({"url": "https://nowhere.example.com/"}, InvalidWebhookUrl, "webhook.url"),
        ({"url": "https://hooks.example.com/", "events": ["x"]}, InvalidRequest, "webhook.events"),
    ],
)
def test_refusals_name_their_field(raw: object, error: type[Exception], field: str) -> None:
    with pytest.raises(error) as caught:
        accept_webhook(raw, secrets=SECRETS, resolver=NoDns(), allow_private=False)
    assert getattr(caught.value, "field", None) == field


def event(webhook: WebhookRequest | None, status: str) -> Delivery | None:
    return job_event_delivery(
        webhook=webhook,
        job_id="job_1",
        key_id="key_a",
        status=status,
        job_resource={"id": "job_1"},
        now=NOW,
    )


def test_only_subscribed_transitions_make_deliveries() -> None:
    webhook = WebhookRequest("https://hooks.example.com/in")
    assert event(webhook, "running") is None
    assert event(None, "succeeded") is None
    delivery = event(webhook, "failed")
    assert delivery is not None
    assert (delivery.event, delivery.signer, delivery.subject_id) == (
        "job.failed",
        "key_a",
        "job_1",
    )
    assert delivery.state is DeliveryState.PENDING
    assert delivery.next_attempt_at == NOW
    assert json.loads(delivery.body)["data"] == {"id": "job_1"}
    assert delivery.id.startswith("msg_")


def test_secrets_are_per_key_and_never_printed() -> None:
    assert SECRETS.for_key("key_a") == derive_secret("test-master-signing-key", "key_a")
    assert SECRETS.for_signer("key_b") != SECRETS.for_key("key_a")
    assert "test-master" not in repr(SECRETS)
    with pytest.raises(WebhooksDisabled):
        SECRETS.for_signer("operator")  # no OPERATOR_WEBHOOK_SECRET
    with pytest.raises(WebhooksDisabled):
        WebhookSecrets(master_key=None).for_key("key_a")
