"""Idempotency, mint floods, body limits and content types through the real API."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis

from tests.e2e.stack import Stack, free_port
from tests.e2e.test_flow import bearer, mint, queued_messages


@pytest.fixture
def api(make_stack: type[Stack]) -> Stack:
    stack = make_stack({"MINT_LIMIT_PER_ADDRESS": "1000"})
    stack.start_api()  # no worker: enqueued messages stay countable
    return stack


def me(client: httpx.Client, key: str) -> int:
    return int(client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"])


def test_idempotent_replay_conflict_and_concurrent_duplicates(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        headers = {**bearer(key), "idempotency-key": "order-42"}
        first = client.post("/v1/images/generations", json={"prompt": "p", "n": 2}, headers=headers)
        replay = client.post(
            "/v1/images/generations", json={"n": 2, "prompt": "p"}, headers=headers
        )
        assert first.status_code == replay.status_code == 202
        assert replay.json() == first.json()
        assert replay.headers["location"] == first.headers["location"]
        assert replay.headers["idempotent-replayed"] == "true"
        assert me(client, key) == 8
        assert queued_messages(api) == 1

        other = client.post("/v1/images/generations", json={"prompt": "q"}, headers=headers)
        assert other.status_code == 422
        assert other.json()["code"] == "idempotency_key_reused"
        assert me(client, key) == 8

        # The key is scoped to the API key: another caller's same key is a new request.
        stranger = mint(client)
        theirs = client.post(
            "/v1/images/generations",
            json={"prompt": "p", "n": 2},
            headers={**bearer(stranger), "idempotency-key": "order-42"},
        )
        assert theirs.status_code == 202
        assert theirs.json()["id"] != first.json()["id"]

    def submit(_: int) -> httpx.Response:
        with httpx.Client(base_url=api.url, timeout=30) as c:
            return c.post(
                "/v1/images/generations",
                json={"prompt": "same"},
                headers={**bearer(key), "idempotency-key": "burst"},
            )

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(submit, range(10)))
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["id"] for a in answers}) == 1
    with api.client() as client:
        assert me(client, key) == 7
    assert queued_messages(api) == 3


def test_a_failed_idempotent_request_may_be_retried(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        headers = {**bearer(key), "idempotency-key": "big"}
        refused = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 10}, headers=headers
        )
        assert refused.status_code == 202
        again = client.post(
            "/v1/images/generations",
            json={"prompt": "p", "n": 1},
            headers={**bearer(key), "idempotency-key": "small"},
        )
        assert again.status_code == 429
        retry = client.post(
            "/v1/images/generations",
            json={"prompt": "p", "n": 1},
            headers={**bearer(key), "idempotency-key": "small"},
        )
        assert retry.status_code == 429  # not a replay of a stored 429: it ran again
        assert "idempotent-replayed" not in retry.headers


def test_mint_flood_through_two_api_processes_is_capped(make_stack: type[Stack]) -> None:
    stack = make_stack({"MINT_LIMIT_PER_ADDRESS": "20", "MINT_LIMIT_GLOBAL": "1000"})
    first = stack.start_api()
    second = stack.start_api("api2", port=free_port())

    def mint_once(i: int) -> httpx.Response:
        url = first if i % 2 else second
        with httpx.Client(base_url=url, timeout=30) as client:
            # Spoofed X-Forwarded-For: ignored, no proxy is trusted.
            return client.post("/v1/keys", headers={"x-forwarded-for": f"10.0.0.{i % 250}"})

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(mint_once, range(200)))
    statuses = [a.status_code for a in answers]
    assert statuses.count(201) == 20
    assert statuses.count(429) == 180
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "rate_limited"
    assert 0 < int(refused.headers["retry-after"]) <= 3600
    authorize = httpx.post(first + "/authorize")
    assert authorize.status_code == 429


def test_trusted_proxy_forwarded_address_is_used(make_stack: type[Stack]) -> None:
    stack = make_stack({"MINT_LIMIT_PER_ADDRESS": "2", "TRUSTED_PROXIES": "127.0.0.0/8"})
    stack.start_api()
    with stack.client() as client:
        for address in ("203.0.113.7", "203.0.113.8"):
            statuses = [
                client.post("/v1/keys", headers={"x-forwarded-for": address}).status_code
                for _ in range(3)
            ]
            assert statuses == [201, 201, 429]


def test_body_limit_and_content_type(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        huge = client.post(
            "/v1/images/generations",
            content=b'{"prompt": "' + b"x" * 2_000_000 + b'"}',
            headers={**bearer(key), "content-type": "application/json"},
        )
        assert huge.status_code == 413
        assert huge.headers["content-type"] == "application/problem+json"
        form = client.post(
            "/v1/images/generations",
            content=b"prompt=cat",
            headers={**bearer(key), "content-type": "application/x-www-form-urlencoded"},
        )
        assert form.status_code == 415
        assert form.json()["code"] == "unsupported_media_type"
        assert me(client, key) == 10


def test_redis_holds_no_raw_key_and_neither_does_the_broker(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
        client.post(
            "/v1/images/generations",
            json={"prompt": "p"},
            headers={**bearer(key), "idempotency-key": "k1"},
        )
    store = redis.Redis.from_url(api.redis_url)
    try:
        dump = []
        for name in store.scan_iter("*"):
            kind = store.type(name)
            dump.append(name)
            if kind == b"string":
                dump.append(store.get(name) or b"")
            elif kind == b"hash":
                dump.extend(b"%s=%s" % kv for kv in store.hgetall(name).items())
            elif kind == b"list":
                dump.extend(store.lrange(name, 0, -1))
            elif kind == b"zset":
                dump.extend(store.zrange(name, 0, -1))
            elif kind == b"set":
                dump.extend(store.smembers(name))
        blob = b"\n".join(dump)
    finally:
        store.close()
    assert b"imagegate" in blob  # the broker messages were read
    assert key.encode() not in blob
    assert key[3:].encode() not in blob
    assert key not in api.log("api")
