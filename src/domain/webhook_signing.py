"""Standard Webhooks signatures and the per-key secrets they use.

Signing (https://www.standardwebhooks.com/): the signed content is `{id}.{timestamp}.{body}`;
the signature is `v1,` + base64(HMAC-SHA256(secret bytes, content)). A secret is serialised as
`whsec_` + base64(bytes). Every attempt is signed afresh with its own timestamp, because verifiers
refuse timestamps more than five minutes old; the `webhook-id` stays the same across attempts so
the receiver can drop duplicates.

Per-key secrets are derived, never stored: HMAC-SHA256(master key, label + key id). Every process
holding `WEBHOOK_SIGNING_KEY` derives the same secret for a key, and knowing one key's secret says
nothing about another's (HMAC is a PRF). The label separates this use of the master key from any
other. Rotating the master key rotates every caller's secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)
_DERIVATION_LABEL = b"imagegate webhook secret v1\x00"


def derive_secret(master_key: str, key_id: str) -> str:
    """The `whsec_…` secret that signs `key_id`'s deliveries."""
    if not master_key:
        raise ValueError("the master signing key is empty")
    digest = hmac.new(master_key.encode(), _DERIVATION_LABEL + key_id.encode(), hashlib.sha256)
    return SECRET_PREFIX + base64.b64encode(digest.digest()).decode()


def secret_bytes(secret: str) -> bytes:
    """The HMAC key inside a `whsec_…` secret (as the spec's verifiers decode it)."""
    encoded = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(encoded + "=" * (-len(encoded) % 4))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` header value: `v1,<base64>`."""
    content = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(secret_bytes(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def signed_headers(secret: str, webhook_id: str, at: datetime, body: bytes) -> dict[str, str]:
    """Every header one delivery attempt sends."""
    timestamp = int(at.timestamp())
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, webhook_id, timestamp, body),
        "content-type": "application/json",
    }
