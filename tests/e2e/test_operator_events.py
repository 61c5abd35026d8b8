"""Operator events through real processes: `imagegate api`, `imagegate worker` (generations and
the webhook consumer), the embedded Valkey and the operator's receiver on loopback. An
operator-issued key on a plan with `alerts = [0.5, 1.0]` spends its credits; the operator hears
`key.credits_low` once at half and `key.credits_exhausted` once at zero — not again after a
top-up in the same period — signed with OPERATOR_WEBHOOK_SECRET (verified with
`standardwebhooks`), and each event is in the delivery log, listed under the key."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from adapters.redis_webhook_log import RedisWebhookLog
from domain.webhook_log import Delivery, delivery_json
from tests.e2e.stack import Stack, wait_until
from tests.e2e.test_webhooks import WEBHOOK_ENV, auth, secret_of
from tests.fakes.webhook_receiver import webhook_receiver

TOKEN = "adm_e2e_events_not_a_secret"
ADMIN = {"authorization": f"Bearer {TOKEN}"}
OPERATOR_SECRET = "whsec_b3BlcmF0b3Itc2VjcmV0LWZvci10ZXN0cw=="
PLANS = """
[plans.free]
credits = 10
self_serve = true

[plans.team]
credits = 4
alerts = [0.5, 1.0]
"""


def spend(client: httpx.Client, key: str, times: int, n: int = 1) -> list[str]:
    """Submit `times` jobs of `n` images (1 credit each); their ids."""
    ids = []
    for _ in range(times):
        body = {"prompt": "a lighthouse", "n": n}
        answer = client.post("/v1/images/generations", json=body, headers=auth(key))
        assert answer.status_code == 202, answer.text
        ids.append(str(answer.json()["id"]))
    return ids


def logged(redis_url: str, subject_id: str) -> list[Delivery]:
    client = redis.Redis.from_url(redis_url)
    try:
        return RedisWebhookLog(client, ttl=timedelta(hours=1)).deliveries(subject_id)
    finally:
        client.close()


def all_delivered(deliveries: list[Delivery]) -> list[Delivery] | None:
    return deliveries if all(d.delivered_at for d in deliveries) else None


@pytest.fixture
def operator_stack(make_stack: Any, tmp_path: Path) -> Any:
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS)

    def start(operator_url: str) -> Stack:
        stack: Stack = make_stack(
            {
                **WEBHOOK_ENV,
                "WEBHOOK_ALLOW_PRIVATE": "false",  # the operator's own URL is exempt anyway
                "PLANS_FILE": str(plans),
                "ADMIN_TOKEN": TOKEN,
                "OPERATOR_WEBHOOK_URL": operator_url,
                "OPERATOR_WEBHOOK_SECRET": OPERATOR_SECRET,
            }
        )
        stack.start_api()
        stack.start_worker()
        return stack

    return start


def test_each_threshold_is_told_once_signed_and_logged_under_the_key(operator_stack: Any) -> None:
    with webhook_receiver([200]) as operator:
        stack: Stack = operator_stack(operator.url)
        with stack.client() as client:
            created = client.post("/v1/admin/keys", json={"plan": "team"}, headers=ADMIN)
            assert created.status_code == 201, created.text
            key, key_id = created.json()["key"], created.json()["key_id"]
            free = client.post("/v1/keys").json()
            client.cookies.clear()

            jobs = spend(client, key, 4)  # 1 credit each: 50 % after two, 100 % after four
            refused = client.post("/v1/images/generations", json={"prompt": "p"}, headers=auth(key))
            assert refused.status_code == 429  # nothing charged: nothing crossed
            topped = client.post(
                f"/v1/admin/keys/{key_id}/credits", json={"operation": "set", "value": 4},
                headers=ADMIN,
            )  # fmt: skip
            assert topped.json() == {"remaining": 4}
            spend(client, key, 4)  # the same thresholds again, in the same period: not news
            spend(client, free["key"], 1, n=10)  # the free plan has no alerts

            # Each submit recorded its alerts before answering: the log is complete now.
            deliveries = logged(stack.redis_url, key_id)
            assert sorted(d.event for d in deliveries) == [
                "key.credits_exhausted",
                "key.credits_low",
            ]
            delivered = wait_until(
                lambda: all_delivered(logged(stack.redis_url, key_id)),
                timeout=60,
                what="both operator events delivered",
            )
            job_log = client.get(f"/v1/jobs/{jobs[-1]}/webhooks", headers=auth(key)).json()
            caller_secret = secret_of(client, key)

    assert logged(stack.redis_url, free["key_id"]) == []
    assert job_log == {"data": []}  # the key's events, not the job's
    # Everything logged is delivered, so nothing more can arrive: exactly one request each.
    assert len(operator.received) == 2
    assert {r.headers["webhook-id"] for r in operator.received} == {d.id for d in delivered}
    payloads = [Webhook(OPERATOR_SECRET).verify(r.body, r.headers) for r in operator.received]
    for got in operator.received:
        with pytest.raises(WebhookVerificationError):
            Webhook(caller_secret).verify(got.body, got.headers)  # only the operator signs
    assert sorted((p["type"], json.dumps(p["data"], sort_keys=True)) for p in payloads) == [
        ("key.credits_exhausted", json.dumps(
            {"key_id": key_id, "plan": "team", "remaining": 0}, sort_keys=True
        )),
        ("key.credits_low", json.dumps(
            {"key_id": key_id, "plan": "team", "remaining": 2, "threshold": 0.5}, sort_keys=True
        )),
    ]  # fmt: skip
    for entry in map(delivery_json, delivered):  # as GET /v1/jobs/{id}/webhooks shows one
        assert entry["delivered_at"] and entry["next_attempt_at"] is None
        [attempt] = entry["attempts"]
        assert (attempt["status_code"], attempt["error"]) == (200, None)
        assert attempt["duration_ms"] >= 0
