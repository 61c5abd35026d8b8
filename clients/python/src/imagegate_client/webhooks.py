"""Verify a webhook delivery (Standard Webhooks) and decode its event."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from imagegate_client.errors import ImagegateError


class InvalidSignature(ImagegateError):
    """The body, its headers and the secret do not agree (or the timestamp is too old)."""


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> dict[str, Any]:
    """The event `{type, timestamp, data}` when `webhook-signature` is right for `body`
    under `secret` (`whsec_…`, from `GET /v1/webhooks/secret`); else InvalidSignature."""
    lowered = {name.lower(): value for name, value in headers.items()}
    payload = body.decode() if isinstance(body, bytes) else body
    try:
        Webhook(secret).verify(payload, lowered)
    except WebhookVerificationError as exc:
        raise InvalidSignature(str(exc) or "bad signature", code="invalid_signature") from None
    event: dict[str, Any] = json.loads(payload)
    return event
