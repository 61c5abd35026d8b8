"""The service on OpenAI (issue 4): real `imagegate api` and `imagegate worker` processes with
IMAGE_GENERATOR=openai, the real openai SDK talking to the fake OpenAI server, which runs as a
separate process on loopback and records every generation request it receives."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.e2e.stack import ROOT, Stack, free_port, wait_until
from tests.e2e.test_flow import bearer, queued_messages, refunded_to

if TYPE_CHECKING:
    from tests.fakes.openai_fixtures import FakeOpenAI

pytest_plugins = ["tests.fakes.openai_fixtures"]

MODEL = "gpt-image-1-mini"  # not the default, so the fake proves the setting is honoured
MAX_RETRIES = 2
CALL_BOUND = MAX_RETRIES + 1  # the first attempt and its retries


def openai_env(fake: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {
        "IMAGE_GENERATOR": "openai",
        "OPENAI_API_KEY": fake.api_key,
        "OPENAI_BASE_URL": fake.base_url,
        "OPENAI_IMAGE_MODEL": MODEL,
        "OPENAI_TIMEOUT_SECONDS": "10",
        # One budget: a job's attempts (JOB_MAX_ATTEMPTS) bound its retries.
        "JOB_MAX_ATTEMPTS": str(CALL_BOUND),
        **extra,
    }


@pytest.fixture
def stack(make_stack: type[Stack], fake_openai_process: FakeOpenAI) -> Stack:
    running = make_stack(openai_env(fake_openai_process))
    running.start_api()
    running.start_worker()
    return running


def new_key(client: httpx.Client) -> tuple[str, str]:
    response = client.post("/v1/keys")
    assert response.status_code == 201, response.text
    return response.json()["key"], response.json()["key_id"]


def submit(client: httpx.Client, key: str, **body: Any) -> str:
    response = client.post(
        "/v1/images/generations", json={"prompt": "a red fox in snow", **body}, headers=bearer(key)
    )
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def finished(client: httpx.Client, key: str, job_id: str, *, timeout: float) -> dict[str, Any]:
    """Long-poll the job until it is terminal."""

    def probe() -> dict[str, Any] | None:
        response = client.get(f"/v1/jobs/{job_id}", headers={**bearer(key), "prefer": "wait=5"})
        job: dict[str, Any] = response.json()
        return job if job["status"] in ("succeeded", "failed", "canceled") else None

    return wait_until(probe, timeout=timeout, what=f"job {job_id} to finish", every=0.1)


def remaining(client: httpx.Client, key: str) -> int:
    return int(client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"])


# --- success ------------------------------------------------------------------------------


def test_the_served_images_are_the_bytes_the_fake_generated(
    stack: Stack, fake_openai_process: FakeOpenAI
) -> None:
    with stack.client() as client:
        key, key_id = new_key(client)
        job_id = submit(client, key, n=2, size="1024x1536", quality="low")
        job = finished(client, key, job_id, timeout=20)
        assert job["status"] == "succeeded", job
        assert job["request"]["model"] == MODEL
        served = [client.get(image["url"], headers=bearer(key)) for image in job["images"]]

    [seen] = fake_openai_process.requests()
    assert [response.status_code for response in served] == [200, 200]
    assert [response.headers["content-type"] for response in served] == ["image/png"] * 2
    assert [hashlib.sha256(r.content).hexdigest() for r in served] == seen["image_sha256"]

    body = seen["body"]
    assert body["model"] == MODEL
    assert body["prompt"] == "a red fox in snow"
    assert (body["n"], body["size"], body["quality"]) == (2, "1024x1536", "low")
    assert body["output_format"] == "png"
    safety_identifier = body["safety_identifier"]
    assert isinstance(safety_identifier, str)
    assert len(safety_identifier) >= 16
    for secret in (key, key_id):
        assert secret not in safety_identifier
        assert safety_identifier not in secret
    assert key not in str(seen)  # the caller's key never reaches the provider


def test_the_safety_identifier_is_stable_per_key_and_differs_between_keys(
    stack: Stack, fake_openai_process: FakeOpenAI
) -> None:
    with stack.client() as client:
        first_key, _ = new_key(client)
        other_key, _ = new_key(client)
        jobs = [(key, submit(client, key)) for key in (first_key, first_key, other_key)]
        for key, job_id in jobs:
            assert finished(client, key, job_id, timeout=20)["status"] == "succeeded"

    seen = Counter(
        request["body"]["safety_identifier"] for request in fake_openai_process.requests()
    )
    assert sorted(seen.values()) == [1, 2]  # the same key twice, the other key once


# --- permanent failures -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "code"),
    [("moderation_blocked", "content_policy"), ("insufficient_quota", "upstream_quota")],
)
def test_a_permanent_refusal_fails_at_once_and_refunds_once(
    stack: Stack, fake_openai_process: FakeOpenAI, kind: str, code: str
) -> None:
    fake_openai_process.mode(kind)  # every call would be refused the same way
    with stack.client() as client:
        key, _ = new_key(client)
        job_id = submit(client, key, n=2)
        job = finished(client, key, job_id, timeout=20)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == code
        assert job["credits"] == {"charged": 2, "refunded": 2}
        assert job["attempts"] == 1
        assert job["images"] == []
        refunded_to(client, key, 10)  # back to full
        assert remaining(client, key) == 10  # and refunded only once
    assert fake_openai_process.stats()["calls"] == 1  # no retry


# --- transient failures -------------------------------------------------------------------


def test_two_server_errors_then_success(stack: Stack, fake_openai_process: FakeOpenAI) -> None:
    fake_openai_process.script({"kind": "server_error", "times": 2})
    with stack.client() as client:
        key, _ = new_key(client)
        job = finished(client, key, submit(client, key), timeout=30)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 3
        assert job["credits"] == {"charged": 1, "refunded": 0}
        image = client.get(job["images"][0]["url"], headers=bearer(key))
        assert remaining(client, key) == 9

    requests = fake_openai_process.requests()
    assert [request["status"] for request in requests] == [500, 500, 200]
    assert requests[-1]["image_sha256"] == [hashlib.sha256(image.content).hexdigest()]


def test_server_errors_all_the_way_fail_after_the_bound_and_refund_once(
    stack: Stack, fake_openai_process: FakeOpenAI
) -> None:
    fake_openai_process.mode("server_error")
    with stack.client() as client:
        key, _ = new_key(client)
        job = finished(client, key, submit(client, key), timeout=30)
        assert job["status"] == "failed", job
        assert job["error"]["code"] == "upstream_unavailable"
        assert job["credits"] == {"charged": 1, "refunded": 1}
        refunded_to(client, key, 10)
    calls = fake_openai_process.stats()["calls"]
    assert 1 < calls <= CALL_BOUND  # retried, but bounded by JOB_MAX_ATTEMPTS
    assert job["attempts"] == calls


def test_a_rate_limit_is_retried_no_sooner_than_its_retry_after(
    stack: Stack, fake_openai_process: FakeOpenAI
) -> None:
    fake_openai_process.script({"kind": "rate_limited", "retry_after": "1"})
    with stack.client() as client:
        key, _ = new_key(client)
        job = finished(client, key, submit(client, key), timeout=20)
        assert job["status"] == "succeeded", job
        assert job["attempts"] == 2

    limited, retried = fake_openai_process.requests()
    assert (limited["status"], retried["status"]) == (429, 200)
    assert retried["received_at"] - limited["received_at"] >= 1.0


# --- the global upstream limit ------------------------------------------------------------


def test_two_workers_never_exceed_the_global_concurrency_limit(
    make_stack: type[Stack], fake_openai_process: FakeOpenAI
) -> None:
    fake_openai_process.mode({"kind": "ok", "delay": 0.5})  # slow, so generations overlap
    stack = make_stack(openai_env(fake_openai_process, OPENAI_MAX_CONCURRENCY="2"))
    stack.start_api()
    stack.start_worker("worker-a")
    stack.start_worker("worker-b")
    with stack.client() as client:
        key, _ = new_key(client)

    def submit_one(index: int) -> str:
        with httpx.Client(base_url=stack.url, timeout=30) as client:
            return submit(client, key, prompt=f"picture {index}")

    with ThreadPoolExecutor(max_workers=10) as pool:
        job_ids = list(pool.map(submit_one, range(10)))
    with stack.client() as client:
        jobs = [finished(client, key, job_id, timeout=40) for job_id in job_ids]

    assert [job["status"] for job in jobs] == ["succeeded"] * 10
    assert [job["attempts"] for job in jobs] == [1] * 10  # they waited for a slot, not failed
    stats = fake_openai_process.stats()
    assert stats["calls"] == 10
    assert stats["max_in_flight"] == 2  # the limit was reached, and never exceeded

    def ran_a_job(worker: str) -> bool:
        return "succeeded" in stack.log(worker)

    for worker in ("worker-a", "worker-b"):  # a success is logged just after it is stored
        wait_until(partial(ran_a_job, worker), timeout=10, what=f"{worker} to log a job it ran")


# --- validation at submit -----------------------------------------------------------------

REFUSED = [
    ({"size": "1792x1024"}, "size"),  # a DALL·E 3 size
    ({"size": "2048x1152"}, "size"),  # free sizes are for gpt-image-2, not the configured model
    ({"n": 11}, "n"),
    ({"prompt": "x" * 32_001}, "prompt"),
    ({"quality": "hd"}, "quality"),
    ({"output_format": "gif"}, "output_format"),
    ({"model": "dall-e-3"}, "model"),
    ({"model": "gpt-image-1"}, "model"),  # shut down
]


def test_requests_the_model_would_refuse_are_422_and_spend_nothing(
    make_stack: type[Stack], fake_openai_process: FakeOpenAI
) -> None:
    stack = make_stack(openai_env(fake_openai_process))
    stack.start_api()  # no worker: anything enqueued would stay in the broker's list
    with stack.client() as client:
        key, _ = new_key(client)
        for changes, field in REFUSED:
            body = {"prompt": "p", **changes}
            response = client.post("/v1/images/generations", json=body, headers=bearer(key))
            assert response.status_code == 422, (changes, response.text)
            problem = response.json()
            assert problem["code"] == "invalid_request", changes
            assert problem["errors"][0]["field"] == field, (changes, problem)
        assert remaining(client, key) == 10
        assert client.get("/v1/jobs", headers=bearer(key)).json()["data"] == []
        assert queued_messages(stack) == 0
        # The same key still submits a request the model accepts.
        assert submit(client, key, size="1536x1024")
        assert remaining(client, key) == 9
    assert fake_openai_process.stats()["calls"] == 0


@pytest.mark.parametrize("model", ["dall-e-3", "gpt-image-1", "stable-diffusion-xl"])
def test_a_model_that_cannot_serve_stops_startup_naming_openai_image_model(
    tmp_path: Path, model: str
) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "PORT": str(free_port()),
        "IMAGE_GENERATOR": "openai",
        "OPENAI_API_KEY": "sk-must-not-be-printed",
        "OPENAI_IMAGE_MODEL": model,
    }
    try:
        result = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", "api"],
            env=env,
            cwd=tmp_path,  # no `.env` here
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the API started with OPENAI_IMAGE_MODEL={model}")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "OPENAI_IMAGE_MODEL" in output
    assert model in output
    assert "sk-must-not-be-printed" not in output
