"""The whole service through real processes: uvicorn, a Celery worker, Valkey."""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis
from PIL import Image

from tests.e2e.stack import Stack, wait_until

JSON = {"content-type": "application/json"}


def bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


def refunded_to(client: httpx.Client, key: str, balance: int) -> None:
    """Wait for the key's balance to come back to `balance`: a job shows its refund claimed
    (`credits.refunded`) a moment before the quota store has the credits back."""

    def probe() -> bool:
        answer = client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"]
        return int(answer) == balance

    wait_until(probe, timeout=10, what=f"the balance back at {balance}")


def mint(client: httpx.Client) -> str:
    response = client.post("/v1/keys")
    assert response.status_code == 201, response.text
    return str(response.json()["key"])


def queued_messages(stack: Stack) -> int:
    client = redis.Redis.from_url(stack.redis_url)
    try:
        return int(client.llen("imagegate"))
    finally:
        client.close()


def test_seed_flow_with_a_cookie_jar(stack: Stack) -> None:
    with stack.client() as client:
        authorized = client.post("/authorize")
        assert authorized.status_code == 303
        assert authorized.headers["location"] == "/me"
        cookie = authorized.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()

        me = client.get("/me")
        assert me.status_code == 200
        credits = me.json()["credits"]
        assert credits["remaining"] == 10
        assert credits["refill"] == {"interval": "daily", "amount": 10, "refill_day": None}
        assert credits["next_refill_at"].endswith("T00:00:00Z")
        assert me.headers["ratelimit-policy"] == '"credits";q=10;w=86400'
        assert me.json()["start"].startswith("ig_")

        submitted = client.post(
            "/v1/images/generations",
            json={"prompt": "a lighthouse at dusk", "size": "1536x1024"},
        )
        assert submitted.status_code == 202, submitted.text
        location = submitted.headers["location"]
        assert location == f"/v1/jobs/{submitted.json()['id']}"
        assert submitted.headers["retry-after"]
        assert submitted.headers["ratelimit"].startswith('"credits";r=9;')

        job = client.get(location, headers={"prefer": "wait=20"}).json()
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 1
        assert job["credits"] == {"charged": 1, "refunded": 0}
        image = client.get(job["images"][0]["url"])
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        assert image.headers["cache-control"].startswith("private")
        picture = Image.open(io.BytesIO(image.content))
        assert picture.format == "PNG"
        assert picture.size == (1536, 1024)
        assert len(image.content) == job["images"][0]["bytes"]
        again = client.get(
            job["images"][0]["url"], headers={"if-none-match": image.headers["etag"]}
        )
        assert again.status_code == 304

        seed = client.post("/generate_image", json={"prompt": "a red bicycle"})
        assert seed.status_code == 200, seed.text
        body = seed.json()
        assert set(body) == {"image_url", "remaining_calls", "job_id"}
        assert body["remaining_calls"] == 8
        assert client.get(body["image_url"]).headers["content-type"] == "image/png"
        assert client.post("/generate-image", json={"prompt": "x"}).status_code == 200


def test_eleventh_credit_is_refused_and_nothing_is_recorded_or_enqueued(
    make_stack: type[Stack],
) -> None:
    stack = make_stack()
    stack.start_api()  # no worker: whatever is enqueued stays in the broker
    with stack.client() as client:
        key = mint(client)
        for _ in range(10):
            response = client.post(
                "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
            )
            assert response.status_code == 202, response.text
        assert queued_messages(stack) == 10
        refused = client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["code"] == "quota_exceeded"
        assert problem["status"] == 429
        assert {"type", "title", "detail"} <= set(problem)
        assert 0 < int(refused.headers["retry-after"]) <= 86_400
        assert refused.headers["ratelimit"].startswith('"credits";r=0')
        assert queued_messages(stack) == 10
        jobs = client.get("/v1/jobs", params={"limit": 100}, headers=bearer(key)).json()
        assert len(jobs["data"]) == 10
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 0


def test_hundred_concurrent_submits_on_ten_credits_accept_exactly_ten(
    make_stack: type[Stack],
) -> None:
    stack = make_stack()
    stack.start_api()
    with stack.client() as client:
        key = mint(client)

    def submit(_: int) -> int:
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            return client.post(
                "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
            ).status_code

    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(submit, range(100)))
    assert statuses.count(202) == 10
    assert statuses.count(429) == 90
    assert queued_messages(stack) == 10


def test_queue_unreachable_answers_503_and_returns_the_credits(make_stack: type[Stack]) -> None:
    stack = make_stack({"CELERY_BROKER_URL": "redis://127.0.0.1:9/0"})
    stack.start_api()
    with stack.client() as client:
        key = mint(client)
        response = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 3}, headers=bearer(key)
        )
        assert response.status_code == 503
        assert response.json()["code"] == "queue_unavailable"
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 10
        assert client.get("/v1/jobs", headers=bearer(key)).json()["data"] == []
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"].startswith("unavailable")


def test_cancel_of_a_queued_job_refunds_once_and_the_worker_skips_it(
    make_stack: type[Stack],
) -> None:
    stack = make_stack()
    stack.start_api()
    with stack.client() as client:
        key = mint(client)
        job = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 2}, headers=bearer(key)
        ).json()
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 8
        canceled = client.post(f"/v1/jobs/{job['id']}/cancel", headers=bearer(key))
        assert canceled.status_code == 200
        assert canceled.json()["status"] == "canceled"
        assert canceled.json()["credits"] == {"charged": 2, "refunded": 2}
        assert canceled.json()["error"]["code"] == "canceled"
        again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=bearer(key))
        assert again.status_code == 409
        assert again.json()["code"] == "job_not_cancelable"
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 10

        stack.start_worker()
        wait_until(lambda: queued_messages(stack) == 0, timeout=30, what="the queue to drain")
        wait_until(lambda: "skipped" in stack.log("worker"), timeout=30, what="the skip")
        after = client.get(f"/v1/jobs/{job['id']}", headers=bearer(key)).json()
        assert after["status"] == "canceled"
        assert after["attempts"] == 0
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 10
