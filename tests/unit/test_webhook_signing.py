"""Standard Webhooks signatures, checked with the reference verifier a receiver would use."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from domain.webhook_signing import derive_secret, secret_bytes, sign, signed_headers

MASTER = "test-master-signing-key"
BODY = b'{"type":"job.succeeded","timestamp":"2026-01-15T12:00:00.000Z","data":{"id":"job_1"}}'


def test_the_reference_verifier_accepts_our_signature() -> None:
    secret = derive_secret(MASTER, "key_a")
    headers = signed_headers(secret, "msg_1", datetime.now(UTC), BODY)
    assert Webhook(secret).verify(BODY, headers)["data"] == {"id": "job_1"}
    assert headers["content-type"] == "application/json"
    assert headers["webhook-signature"].startswith("v1,")


def test_another_keys_secret_does_not_verify() -> None:
    headers = signed_headers(derive_secret(MASTER, "key_a"), "msg_1", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(derive_secret(MASTER, "key_b")).verify(BODY, headers)


def test_a_tampered_body_or_id_does_not_verify() -> None:
    secret = derive_secret(MASTER, "key_a")
    headers = signed_headers(secret, "msg_1", datetime.now(UTC), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"job_1", b"job_2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})


def test_an_old_attempt_is_refused_so_each_attempt_is_signed_afresh() -> None:
    secret = derive_secret(MASTER, "key_a")
    stale = signed_headers(secret, "msg_1", datetime.now(UTC) - timedelta(minutes=10), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, stale)


def test_secrets_are_derived_deterministically_and_per_key() -> None:
    a = derive_secret(MASTER, "key_a")
    assert a == derive_secret(MASTER, "key_a")  # every process agrees
    assert a != derive_secret(MASTER, "key_b")
    assert a != derive_secret("another-master", "key_a")
    assert a.startswith("whsec_")
    assert len(secret_bytes(a)) == 32
    with pytest.raises(ValueError, match="empty"):
        derive_secret("", "key_a")


def test_signature_matches_the_specs_construction() -> None:
    # The spec's construction by hand: base64(HMAC-SHA256(key, "id.timestamp.body")).
    secret = "whsec_" + base64.b64encode(b"k" * 24).decode()
    expected = hmac.new(b"k" * 24, b"msg_x.1700000000." + BODY, hashlib.sha256).digest()
    assert sign(secret, "msg_x", 1700000000, BODY) == "v1," + base64.b64encode(expected).decode()
