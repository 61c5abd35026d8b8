"""The operator API and /v1/me/usage through the real app in process, on the local store in a
real Valkey (jobs and the queue are the in-memory fakes): the token, every route of DESIGN's
table, and the caller's ledger summing to the balance."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
import redis.asyncio
from litestar.testing import TestClient

from adapters.prometheus_metrics import Metrics
from adapters.redis_quota import RedisQuotaProvider
from domain.plans import parse_plans
from domain.ports import Clock
from entrypoints.bootstrap import ApiContainer, bind_api
from entrypoints.factories import build_operators
from entrypoints.http.app import create_app
from entrypoints.settings import Settings
from tests.fakes.clock import FrozenClock
from tests.fakes.lifecycle import MemoryQueuePlaces
from tests.http.conftest import SETTINGS, Fakes, bearer

TOKEN = "adm_test_token_not_a_secret"
PLANS = """
[plans.free]
credits = 20
self_serve = true
[plans.pro]
credits = 500
refill = { interval = "monthly", amount = 500, day = 1 }
[pricing]
quality = { low = 1, medium = 2, high = 4, auto = 2 }
size = { "1024x1024" = 1, "1536x1024" = 1.5, "1024x1536" = 1.5, auto = 1.5 }
"""
ADMIN = bearer(TOKEN)


def serve(redis_url: str, settings: Settings) -> TestClient:  # type: ignore[type-arg]
    fakes = Fakes()

    def container(settings: Settings, *, clock: Clock, metrics: Metrics) -> ApiContainer:
        client = redis.asyncio.Redis.from_url(redis_url)
        operators, close = build_operators(settings, client, clock)
        return bind_api(
            settings, quota=RedisQuotaProvider(client, clock), jobs=fakes.jobs,
            queue=fakes.queue, images=fakes.images, idempotency=fakes.idempotency,
            rate_limiter=fakes.limiter, clock=clock, operators=operators,
            changes=fakes.changes, places=MemoryQueuePlaces(fakes.jobs),
            closers=(close, client.aclose),
        )  # fmt: skip

    return TestClient(create_app(settings, container_factory=container, clock=FrozenClock()))


@pytest.fixture
def api(redis_url: str) -> Iterator[TestClient]:  # type: ignore[type-arg]
    settings = replace(SETTINGS, plans=parse_plans(PLANS), admin_token=TOKEN)
    with serve(redis_url, settings) as client:
        yield client


def test_without_an_admin_token_the_operator_api_is_not_there(redis_url: str):
    with serve(redis_url, replace(SETTINGS, plans=parse_plans(PLANS))) as client:
        answers = [client.get("/v1/admin/keys", headers=ADMIN), client.get("/v1/admin/keys")]

    assert [a.status_code for a in answers] == [404, 404]


def test_a_wrong_token_a_callers_key_or_none_is_401(api: TestClient):  # type: ignore[type-arg]
    caller_key = api.post("/v1/keys").json()["key"]
    api.cookies.clear()

    for headers in ({}, bearer("adm_wrong"), bearer(caller_key), {"Authorization": TOKEN}):
        answer = api.post("/v1/admin/keys", json={"plan": "pro"}, headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (401, "unauthenticated")


def test_an_operator_manages_a_pro_key_through_every_route(api: TestClient):  # type: ignore[type-arg]
    created = api.post(
        "/v1/admin/keys", json={"plan": "pro", "name": "acme", "external_id": "cus_1"},
        headers=ADMIN,
    )  # fmt: skip
    assert created.status_code == 201
    body = created.json()
    key, key_id = body["key"], body["key_id"]
    assert key.startswith(body["start"]) and body["credits"]["remaining"] == 500
    assert (body["plan"], body["name"], body["external_id"]) == ("pro", "acme", "cus_1")

    view = api.get(f"/v1/admin/keys/{key_id}", headers=ADMIN)
    assert view.status_code == 200 and key not in view.text and "key" not in view.json()
    listed = api.get("/v1/admin/keys?plan=pro&limit=10", headers=ADMIN).json()
    assert [k["key_id"] for k in listed["data"]] == [key_id] and key not in str(listed)

    off = api.patch(f"/v1/admin/keys/{key_id}", json={"enabled": False}, headers=ADMIN)
    assert off.status_code == 200 and off.json()["enabled"] is False
    refused = api.get("/v1/me", headers=bearer(key))
    assert (refused.status_code, refused.json()["code"]) == (401, "key_disabled")
    api.patch(f"/v1/admin/keys/{key_id}", json={"enabled": True}, headers=ADMIN)
    assert api.get("/v1/me", headers=bearer(key)).status_code == 200

    topped = api.post(
        f"/v1/admin/keys/{key_id}/credits",
        json={"operation": "increment", "value": 25, "reason": "invoice 7"}, headers=ADMIN,
    )  # fmt: skip
    assert topped.json() == {"remaining": 525}
    newest = api.get(f"/v1/admin/keys/{key_id}/usage?limit=1", headers=ADMIN).json()["data"]
    assert [(e["kind"], e["credits"], e["reason"]) for e in newest] == [
        ("increment", 25, "invoice 7")
    ]

    rerolled = api.post(f"/v1/admin/keys/{key_id}/reroll", json={"grace_seconds": 0}, headers=ADMIN)
    assert rerolled.status_code == 201
    new_key, new_id = rerolled.json()["key"], rerolled.json()["key_id"]
    assert api.get("/v1/me", headers=bearer(key)).status_code == 401
    assert api.get("/v1/me", headers=bearer(new_key)).json()["credits"]["remaining"] == 525

    usage = api.get(f"/v1/admin/keys/{new_id}/usage", headers=ADMIN).json()
    assert sum(e["credits"] for e in usage["data"]) == 525

    assert api.delete(f"/v1/admin/keys/{new_id}", headers=ADMIN).status_code == 204
    gone = api.get(f"/v1/admin/keys/{new_id}", headers=ADMIN)
    assert (gone.status_code, gone.json()["code"]) == (404, "key_not_found")


def test_bad_operator_input_is_422_naming_the_field(api: TestClient):  # type: ignore[type-arg]
    cases = [
        ({"plan": "gold"}, "plan"),
        ({"plan": "pro", "credits": -1}, "credits"),
        ({"plan": "pro", "meta": {"plan": "x"}}, "meta"),
        ({"plan": "pro", "expires_at": "2000-01-01T00:00:00Z"}, "expires_at"),
    ]
    for body, field in cases:
        answer = api.post("/v1/admin/keys", json=body, headers=ADMIN)
        assert answer.status_code == 422, body
        assert field in [e["field"] for e in answer.json()["errors"]], body
    credits = api.post(
        "/v1/admin/keys/key_x/credits", json={"operation": "double", "value": 1}, headers=ADMIN
    )
    assert credits.status_code == 422 and "operation" in credits.text


def test_my_usage_sums_to_my_balance_and_buckets_by_day(api: TestClient):  # type: ignore[type-arg]
    key = api.post("/v1/keys").json()["key"]
    api.cookies.clear()
    job = {"prompt": "a lighthouse", "n": 1, "quality": "high", "size": "1536x1024"}
    charged = api.post("/v1/images/generations", json=job, headers=bearer(key))
    assert charged.json()["credits"]["charged"] == 6

    usage = api.get("/v1/me/usage", headers=bearer(key))
    days = api.get("/v1/me/usage?bucket=day", headers=bearer(key)).json()["buckets"]
    bad = api.get("/v1/me/usage?bucket=day&from=yesterday", headers=bearer(key))

    entries = usage.json()["data"]
    assert [e["kind"] for e in entries] == ["charge", "mint"]
    assert (
        sum(e["credits"] for e in entries)
        == 14
        == api.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"]
    )
    assert usage.json()["totals"] == {"charged": 6, "refunded": 0, "net": 6}
    assert len(days) == 30 and sum(d["charged"] for d in days) == 6
    assert bad.status_code in (400, 422) and "from" in bad.text
