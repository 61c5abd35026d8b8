"""No secret leaks: after a whole run on Unkey and OpenAI (fakes), the raw API key, the Unkey
root key and the OpenAI key appear in no log line, Redis key or value, broker message,
metric, job record or error body."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
import redis

from tests.e2e.stack import Stack, free_port, wait_until
from tests.e2e.test_flow import bearer

if TYPE_CHECKING:
    from tests.fakes.openai_fixtures import FakeOpenAI
    from tests.fakes.unkey_fixtures import FakeUnkeyProcess

pytest_plugins = ["tests.fakes.openai_fixtures", "tests.fakes.unkey_fixtures"]


def redis_dump(url: str) -> bytes:
    store = redis.Redis.from_url(url)
    try:
        parts: list[bytes] = []
        for name in store.scan_iter("*"):
            parts.append(name)
            kind = store.type(name)
            if kind == b"string":
                parts.append(store.get(name) or b"")
            elif kind == b"hash":
                parts.extend(b"%s=%s" % item for item in store.hgetall(name).items())
            elif kind == b"list":
                parts.extend(store.lrange(name, 0, -1))
            elif kind in (b"zset", b"set"):
                parts.extend(store.zrange(name, 0, -1) if kind == b"zset" else store.smembers(name))
        return b"\n".join(parts)
    finally:
        store.close()


def test_no_secret_reaches_logs_redis_broker_metrics_or_bodies(
    make_stack: type[Stack],
    fake_unkey_process: FakeUnkeyProcess,
    fake_openai_process: FakeOpenAI,
) -> None:
    metrics_port = free_port()
    stack = make_stack(
        {
            **fake_unkey_process.env,
            "IMAGE_GENERATOR": "openai",
            "OPENAI_API_KEY": fake_openai_process.api_key,
            "OPENAI_BASE_URL": fake_openai_process.base_url,
            "OPENAI_IMAGE_MODEL": "gpt-image-1-mini",
            "LOG_LEVEL": "DEBUG",
            "WORKER_METRICS_PORT": str(metrics_port),
        }
    )
    stack.start_api()
    bodies: list[str] = []
    with stack.client() as client:
        created = client.post("/v1/keys")
        key = created.json()["key"]
        ok = client.post("/v1/images/generations", json={"prompt": "a fox"}, headers=bearer(key))
        job_id = ok.json()["id"]
        # Seen while still queued, before a worker exists: a cancel, and an error body.
        canceled = client.post(
            "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
        ).json()["id"]
        bodies.append(client.post(f"/v1/jobs/{canceled}/cancel", headers=bearer(key)).text)
        bodies.append(client.get("/v1/jobs/job_nope", headers=bearer(key)).text)
        bodies.append(client.get("/v1/me", headers=bearer(key + "x")).text)
        broker_while_queued = redis_dump(stack.redis_url).decode(errors="replace")
        stack.start_worker()
        fake_openai_process.script("moderation_blocked")
        refused = client.post(
            "/v1/images/generations", json={"prompt": "q"}, headers=bearer(key)
        ).json()["id"]
        for pending in (job_id, refused):
            wait_until(
                lambda j=pending: (
                    client.get(f"/v1/jobs/{j}", headers=bearer(key)).json()["status"]
                    in ("succeeded", "failed")
                ),
                timeout=60,
                what="the jobs to finish",
            )
        bodies.append(client.get("/v1/jobs", headers=bearer(key)).text)
        bodies.append(client.get(f"/v1/jobs/{refused}", headers=bearer(key)).text)
        bodies.append(client.get("/v1/me", headers=bearer(key)).text)
        bodies.append(client.get("/metrics").text)
        bodies.append(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text)
        bodies.append(client.get("/readyz").text)

    secrets = {
        "api key": key,
        "unkey root key": fake_unkey_process.root_key,
        "openai key": fake_openai_process.api_key,
    }
    haystacks = {
        "api log": stack.log("api"),
        "worker log": stack.log("worker"),
        "broker while queued": broker_while_queued,
        "redis afterwards": redis_dump(stack.redis_url).decode(errors="replace"),
        "responses": "\n".join(bodies),
    }
    assert "imagegate.generate" in broker_while_queued  # the task message itself was read
    assert job_id in haystacks["api log"]
    assert "imagegate_jobs" in haystacks["responses"]
    for where, text in haystacks.items():
        assert text, where
        for what, secret in secrets.items():
            assert secret not in text, f"{what} found in {where}"
