"""Errors decoded from problem JSON, retries, webhook verification, and the version."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import tomllib
from pathlib import Path

import httpx
import imagegate_client as ig
import pytest
from imagegate_client import webhooks

ROOT = Path(__file__).resolve().parents[2]


def test_the_sdk_is_versioned_with_the_service() -> None:
    service = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    client = tomllib.loads((ROOT / "clients/python/pyproject.toml").read_text())["project"]
    assert client["version"] == service
    assert sorted(dep.split(">")[0] for dep in client["dependencies"]) == [
        "httpx",
        "standardwebhooks",
    ]


def answering(*responses: httpx.Response, seen: list[httpx.Request]) -> httpx.MockTransport:
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return queue.pop(0)

    return httpx.MockTransport(handler)


NO_WAIT = ig.RetryPolicy(attempts=3, base_delay=0, max_delay=0)


def test_a_quota_refusal_carries_retry_after_and_remaining() -> None:
    refusal = httpx.Response(
        429,
        json={"code": "quota_exceeded", "detail": "out of credits", "status": 429},
        headers={"Retry-After": "3600", "RateLimit": '"credits";r=0;t=3600', "X-Request-ID": "r1"},
    )
    seen: list[httpx.Request] = []
    client = ig.Client("http://t", "ig_k", transport=answering(refusal, seen=seen), retry=NO_WAIT)
    with pytest.raises(ig.QuotaExceeded) as caught:
        client.images.generate("p", wait=False)
    assert (caught.value.retry_after, caught.value.remaining) == (3600, 0)
    assert (caught.value.code, caught.value.status, caught.value.request_id) == (
        "quota_exceeded",
        429,
        "r1",
    )
    assert len(seen) == 1, "a quota refusal is not retried"


def test_503s_are_retried_with_one_idempotency_key_then_raised() -> None:
    busy = httpx.Response(503, json={"code": "queue_unavailable"}, headers={"Retry-After": "0"})
    seen: list[httpx.Request] = []
    transport = answering(busy, busy, busy, seen=seen)
    client = ig.Client("http://t", "ig_k", transport=transport, retry=NO_WAIT)
    with pytest.raises(ig.ServiceUnavailable):
        client.images.generate("p", wait=False)
    assert len(seen) == 3
    assert len({request.headers["idempotency-key"] for request in seen}) == 1


def test_each_generate_call_has_its_own_idempotency_key() -> None:
    accepted = {"id": "job_1", "status": "queued", "request": {}, "credits": {}, "images": []}
    seen: list[httpx.Request] = []
    transport = answering(
        httpx.Response(202, json=accepted), httpx.Response(202, json=accepted), seen=seen
    )
    client = ig.Client("http://t", "ig_k", transport=transport)
    client.images.generate("p", wait=False)
    client.images.generate("p", wait=False)
    assert seen[0].headers["idempotency-key"] != seen[1].headers["idempotency-key"]


def test_field_errors_are_on_invalid_request() -> None:
    problem = {
        "code": "invalid_request",
        "detail": "n: bad",
        "errors": [{"field": "n", "message": "bad"}],
    }
    client = ig.Client(
        "http://t", "ig_k", transport=answering(httpx.Response(422, json=problem), seen=[])
    )
    with pytest.raises(ig.InvalidRequest) as caught:
        client.images.generate("p", n=0, wait=False)
    assert caught.value.errors == [{"field": "n", "message": "bad"}]


def test_the_environment_gives_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMAGEGATE_BASE_URL", "http://from-env:9/")
    monkeypatch.setenv("IMAGEGATE_API_KEY", "ig_env")
    client = ig.Client()
    assert (client.base_url, client.api_key) == ("http://from-env:9", "ig_env")


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_webhooks_verify_returns_the_event_or_refuses_a_forgery() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    body = json.dumps({"type": "job.succeeded", "timestamp": "2026-01-01T00:00:00Z", "data": {}})
    now = int(time.time())
    headers = {"Webhook-Id": "msg_1", "Webhook-Timestamp": str(now)}
    good = {**headers, "Webhook-Signature": sign(secret, "msg_1", now, body)}
    assert webhooks.verify(body.encode(), good, secret)["type"] == "job.succeeded"
    forged = {**headers, "Webhook-Signature": sign(secret, "msg_1", now, body + " ")}
    with pytest.raises(webhooks.InvalidSignature) as caught:
        webhooks.verify(body, forged, secret)
    assert isinstance(caught.value, ig.ImagegateError)


def test_quote_and_usage_follow_the_designed_routes() -> None:
    seen: list[httpx.Request] = []
    transport = answering(
        httpx.Response(200, json={"credits": 4, "remaining": 9, "affordable": True}),
        httpx.Response(
            200, json={"buckets": [{"date": "2026-01-01", "charged": 3, "refunded": 1}]}
        ),
        seen=seen,
    )
    client = ig.Client("http://t", "ig_k", transport=transport)
    quote = client.quote("p", n=2, quality="high")
    assert (quote.credits, quote.remaining, quote.affordable) == (4, 9, True)
    assert seen[0].url.path == "/v1/quotes"
    assert json.loads(seen[0].content) == {"prompt": "p", "n": 2, "quality": "high"}
    usage = client.usage(bucket="day", from_="2026-01-01")
    assert usage.buckets == [{"date": "2026-01-01", "charged": 3, "refunded": 1}]
    assert seen[1].url.path == "/v1/me/usage"
    assert dict(seen[1].url.params) == {"bucket": "day", "from": "2026-01-01"}
