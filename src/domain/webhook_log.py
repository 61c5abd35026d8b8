"""The delivery log: each event to send is a `Delivery`, with every attempt made at it.

A delivery belongs to a subject (the job, for job events; the key, for operator events) and is
listed under it (`GET /v1/jobs/{id}/webhooks`). Its `id` is the `webhook-id` header of every
attempt, redeliveries included. `body` is fixed when the event happens, so every attempt sends
(and re-signs) the same bytes. `signer` names whose secret signs it: a key id (the secret is
derived from WEBHOOK_SIGNING_KEY, never stored) or `OPERATOR_SIGNER` (OPERATOR_WEBHOOK_SECRET).

`round_attempts` counts attempts since the delivery was created or last redelivered: the retry
budget applies per round, while `attempts` keeps the whole history.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from domain.webhook_delivery import Attempt, Decision, attempt_json
from domain.webhooks import event_timestamp

OPERATOR_SIGNER = "operator"


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"
    STOPPED = "stopped"


def new_webhook_id() -> str:
    return "msg_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    subject_id: str
    event: str
    url: str
    signer: str
    body: bytes
    created_at: datetime
    state: DeliveryState = DeliveryState.PENDING
    next_attempt_at: datetime | None = None
    delivered_at: datetime | None = None
    round_attempts: int = 0
    attempts: tuple[Attempt, ...] = ()

    @classmethod
    def new(
        cls, *, subject_id: str, event: str, url: str, signer: str, body: bytes, now: datetime
    ) -> Delivery:
        """A delivery due at once."""
        return cls(
            id=new_webhook_id(),
            subject_id=subject_id,
            event=event,
            url=url,
            signer=signer,
            body=body,
            created_at=now,
            next_attempt_at=now,
        )


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds for one attempt; `token` proves the claim when recording."""

    delivery: Delivery
    token: str

    @property
    def attempt_number(self) -> int:
        return self.delivery.round_attempts + 1


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """`{id, event, delivered_at, next_attempt_at, attempts}` as the API shows it."""

    def moment(value: datetime | None) -> str | None:
        return None if value is None else event_timestamp(value)

    pending = delivery.state is DeliveryState.PENDING
    return {
        "id": delivery.id,
        "event": delivery.event,
        "delivered_at": moment(delivery.delivered_at),
        "next_attempt_at": moment(delivery.next_attempt_at) if pending else None,
        "attempts": [attempt_json(a) for a in delivery.attempts],
    }


class WebhookLog(Protocol):
    """The worker's view of the log (the API's async view offers add/list/redeliver)."""

    def add(self, delivery: Delivery) -> None: ...

    def claim_due(self, now: datetime, *, limit: int) -> list[ClaimedDelivery]:
        """Due deliveries, each leased to this caller for a while; concurrent callers never
        receive the same delivery while its lease lasts, and an expired lease makes it due."""
        ...

    def record(self, claim: ClaimedDelivery, attempt: Attempt, decision: Decision) -> bool:
        """Append the attempt (always) and apply the decision (only while the claim is
        current). False: the claim was stale; the attempt is logged but changes nothing."""
        ...

    def deliveries(self, subject_id: str) -> Sequence[Delivery]: ...

    def redeliver(self, subject_id: str, delivery_id: str, now: datetime) -> bool: ...
