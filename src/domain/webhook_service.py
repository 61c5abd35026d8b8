"""Webhook use cases: accept a webhook at submit, record events, and deliver what is due.

- `accept_webhook` is the submit-time gate: the body's `webhook` member parsed, 422
  `webhooks_disabled` without a signing key, and the SSRF check (it resolves: run it off the
  event loop). Call it BEFORE charging, so a refused webhook costs nothing.
- `job_event_delivery` turns a job transition into a delivery, if the job's webhook wants it;
  `operator_deliveries` does the same for `key.credits_*` events, to the operator's URL. Both only
  build: the caller adds them to its log (the worker's sync one, or the API's async one).
- `deliver_due` is the worker's loop body: claim due deliveries, send one attempt each (signed
  with the signer's secret), log it and schedule what follows. A crash anywhere leaves the claim
  to lapse, so the delivery is attempted again: at least once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.credit_alerts import OperatorEvent
from domain.errors import WebhooksDisabled
from domain.ports import Clock
from domain.webhook_delivery import (
    Attempt,
    Decision,
    RetryPolicy,
    WebhookSender,
    decide,
    deliver_once,
)
from domain.webhook_log import OPERATOR_SIGNER, Delivery, WebhookLog
from domain.webhook_signing import derive_secret
from domain.webhook_urls import HostResolver, validate_webhook_url
from domain.webhooks import WebhookRequest, event_payload, parse_webhook


@dataclass(frozen=True, slots=True)
class WebhookSecrets:
    """Whose secret signs what. `master_key` is WEBHOOK_SIGNING_KEY; `operator_secret` is
    OPERATOR_WEBHOOK_SECRET (`whsec_…`). Neither is ever logged or stored with a delivery."""

    master_key: str | None
    operator_secret: str | None = None

    def __repr__(self) -> str:
        return "WebhookSecrets(…)"

    def for_key(self, key_id: str) -> str:
        """The caller's secret (`GET /v1/webhooks/secret`)."""
        if not self.master_key:
            raise WebhooksDisabled()
        return derive_secret(self.master_key, key_id)

    def for_signer(self, signer: str) -> str:
        if signer == OPERATOR_SIGNER:
            if not self.operator_secret:
                raise WebhooksDisabled("OPERATOR_WEBHOOK_SECRET is not set.")
            return self.operator_secret
        return self.for_key(signer)


def accept_webhook(
    raw: object,
    *,
    secrets: WebhookSecrets,
    resolver: HostResolver,
    allow_private: bool,
) -> WebhookRequest:
    """The submit body's `webhook` member, checked; a 422 naming the field otherwise."""
    request = parse_webhook(raw)
    if not secrets.master_key:
        raise WebhooksDisabled()
    validate_webhook_url(request.url, resolver=resolver, allow_private=allow_private)
    return request


def job_event_delivery(
    *,
    webhook: WebhookRequest | None,
    job_id: str,
    key_id: str,
    status: str,
    job_resource: Mapping[str, Any],
    now: datetime,
) -> Delivery | None:
    """A delivery for the job's move to `status`, if its webhook subscribed to it."""
    event = webhook.event_for(status) if webhook else None
    if webhook is None or event is None:
        return None
    return Delivery.new(
        subject_id=job_id,
        event=event.value,
        url=webhook.url,
        signer=key_id,
        body=event_payload(event, job_resource, now),
        now=now,
    )


def operator_deliveries(
    events: Sequence[OperatorEvent], *, operator_url: str | None, now: datetime
) -> list[Delivery]:
    """Deliveries of already-deduplicated operator events (none without OPERATOR_WEBHOOK_URL:
    the events are then only counted)."""
    if not operator_url:
        return []
    return [
        Delivery.new(
            subject_id=str(event.data["key_id"]),
            event=event.type.value,
            url=operator_url,
            signer=OPERATOR_SIGNER,
            body=event_payload(event.type, event.data, now),
            now=now,
        )
        for event in events
    ]


def deliver_due(
    log: WebhookLog,
    *,
    sender: WebhookSender,
    secrets: WebhookSecrets,
    clock: Clock,
    policy: RetryPolicy,
    operator_sender: WebhookSender | None = None,
    limit: int = 10,
    observe: Callable[[Delivery, Attempt, Decision], None] | None = None,
) -> int:
    """Attempt every delivery due now (up to `limit`); how many were attempted.

    `sender` applies the SSRF rule; the operator's own URL is exempt from it, so operator events
    may go through `operator_sender` (one built with allow_private)."""
    claims = log.claim_due(clock.now(), limit=limit)
    for claim in claims:
        delivery = claim.delivery
        operator = delivery.signer == OPERATOR_SIGNER
        try:
            secret = secrets.for_signer(delivery.signer)
        except WebhooksDisabled as exc:
            # The secret was removed after the event: log why rather than retry blindly forever.
            at = clock.now()
            attempt = Attempt(at, None, f"not sent: {exc.detail}", 0)
            decision = decide(None, claim.attempt_number, at, policy)
        else:
            attempt, decision = deliver_once(
                url=delivery.url,
                webhook_id=delivery.id,
                body=delivery.body,
                secret=secret,
                attempt_number=claim.attempt_number,
                sender=(operator_sender or sender) if operator else sender,
                clock=clock,
                policy=policy,
            )
        log.record(claim, attempt, decision)
        if observe is not None:
            observe(delivery, attempt, decision)
    return len(claims)
