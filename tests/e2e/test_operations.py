"""Operations through real processes: Prometheus metrics of the API and a worker, request ids
from the HTTP edge into the worker's log lines, and the whole flow on an S3 emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import Stack, free_port, wait_until
from tests.e2e.test_flow import bearer, mint

if TYPE_CHECKING:
    from tests.fakes.openai_fixtures import FakeOpenAI
    from tests.fakes.s3_fixtures import S3Emulator

pytest_plugins = ["tests.fakes.openai_fixtures", "tests.fakes.s3_fixtures"]


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(text: str, name: str, **labels: str) -> float:
    """The one sample called `name` whose labels include `labels` (0 when there is none)."""
    found = [v for n, ls, v in samples(text) if n == name and labels.items() <= ls.items()]
    assert len(found) <= 1, f"{name}{labels} is ambiguous: {found}"
    return found[0] if found else 0.0


def submit(client: httpx.Client, key: str, n: int, **headers: str) -> dict[str, Any]:
    response = client.post(
        "/v1/images/generations", json={"prompt": "p", "n": n}, headers={**bearer(key), **headers}
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def finished(client: httpx.Client, key: str, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(
        f"/v1/jobs/{job_id}", headers={**bearer(key), "prefer": "wait=20"}
    ).json()
    assert job["status"] in {"succeeded", "failed"}, job
    return job


def test_metrics_count_jobs_credits_and_http_requests(
    make_stack: type[Stack], fake_openai_process: FakeOpenAI
) -> None:
    worker_port = free_port()
    stack = make_stack(
        {
            "IMAGE_GENERATOR": "openai",
            "OPENAI_API_KEY": fake_openai_process.api_key,
            "OPENAI_BASE_URL": fake_openai_process.base_url,
            "WORKER_METRICS_PORT": str(worker_port),
        }
    )
    stack.start_api()
    with stack.client() as client:
        key = mint(client)
        canceled = submit(client, key, 1)  # no worker yet: it stays queued
        assert client.post(f"/v1/jobs/{canceled['id']}/cancel", headers=bearer(key)).is_success
        stack.start_worker()
        succeeded = finished(client, key, submit(client, key, 2)["id"])
        assert succeeded["status"] == "succeeded"
        fake_openai_process.script("moderation_blocked")
        failed = finished(client, key, submit(client, key, 3)["id"])
        assert failed["error"]["code"] == "content_policy"
        assert client.get("/no/such/route").status_code == 404
        # httptools (uvicorn[standard]) refuses a method it does not know with 400 itself.
        assert client.request("BREW", "/coffee").status_code in {400, 404, 405}
        api = client.get("/metrics")
        assert "/metrics" not in client.get("/schema/openapi.json").json()["paths"]
    assert api.status_code == 200
    assert api.headers["content-type"].startswith("text/plain")
    text = api.text

    assert value(text, "imagegate_credits_charged_total") == 1 + 2 + 3
    assert value(text, "imagegate_credits_refunded_total") == 1  # the cancel, in the API
    assert value(text, "imagegate_jobs_finished_total", status="canceled") == 1
    submits = {"method": "POST", "route": "/v1/images/generations", "status": "202"}
    assert value(text, "imagegate_http_requests_total", **submits) == 3
    assert value(text, "imagegate_http_request_duration_seconds_count", **submits) == 3
    assert value(text, "imagegate_http_requests_total", route="/v1/keys", status="201") == 1
    polls = {"method": "GET", "route": "/v1/jobs/{job_id}", "status": "200"}
    assert value(text, "imagegate_http_requests_total", **polls) == 2  # route, never the raw path
    unmatched = {"route": "unmatched", "status": "404"}
    assert value(text, "imagegate_http_requests_total", method="GET", **unmatched) == 1
    assert not [s for s in samples(text) if s[1].get("method") == "BREW"]  # bounded labels
    assert not [s for s in samples(text) if canceled["id"] in str(s[1]) or key in str(s[1])]
    charges = {"provider": "local", "operation": "charge", "outcome": "ok"}
    assert value(text, "imagegate_quota_request_duration_seconds_count", **charges) == 3
    assert value(text, "imagegate_queue_depth", queue="imagegate") == 0

    worker = httpx.get(f"http://127.0.0.1:{worker_port}/metrics", timeout=5).text
    assert value(worker, "imagegate_jobs_finished_total", status="succeeded") == 1
    assert (
        value(worker, "imagegate_jobs_finished_total", status="failed", error_code="content_policy")
        == 1
    )
    assert value(worker, "imagegate_credits_refunded_total") == 3  # the failed job, once
    durations = "imagegate_generation_duration_seconds_count"
    assert value(worker, durations, generator="openai", outcome="ok") == 1
    assert value(worker, durations, generator="openai", outcome="content_policy") == 1
    assert value(worker, "imagegate_generations_in_flight", generator="openai") == 0
    assert value(worker, "imagegate_queue_depth", queue="imagegate") == 0


def json_lines(log: str) -> list[dict[str, Any]]:
    lines = []
    for line in log.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def test_request_id_is_echoed_stored_and_carried_into_the_worker_logs(stack: Stack) -> None:
    request_id = "trace-7f3a.e2e:01"
    with stack.client() as client:
        key = mint(client)
        response = client.post(
            "/v1/images/generations",
            json={"prompt": "p"},
            headers={**bearer(key), "x-request-id": request_id},
        )
        assert response.headers["x-request-id"] == request_id
        job_id = response.json()["id"]
        assert finished(client, key, job_id)["status"] == "succeeded"

        unsafe = client.get("/healthz", headers={"x-request-id": "no spaces\tor tabs"})
        generated = unsafe.headers["x-request-id"]
        assert generated != "no spaces\tor tabs"
        assert len(generated) == 32 and int(generated, 16) >= 0
        assert client.get("/nowhere").headers["x-request-id"]  # unrouted answers carry one too
        too_long = client.get("/healthz", headers={"x-request-id": "a" * 65})
        assert too_long.headers["x-request-id"] != "a" * 65

    def for_the_job(name: str) -> list[dict[str, Any]]:
        return [line for line in json_lines(stack.log(name)) if line.get("job_id") == job_id]

    api_lines = for_the_job("api")
    assert api_lines and all(line["request_id"] == request_id for line in api_lines)
    assert any(line["msg"] == f"job {job_id} queued" for line in api_lines)
    access = [line for line in json_lines(stack.log("api")) if line.get("route")]
    assert any(line["request_id"] == request_id and line["status"] == 202 for line in access), (
        access
    )

    def worker_logged_success() -> list[dict[str, Any]] | None:
        lines = for_the_job("worker")
        return lines if any(line["msg"] == f"job {job_id}: succeeded" for line in lines) else None

    # The worker logs the ending just after it stores it: the poll above may see it first.
    worker_lines = wait_until(worker_logged_success, timeout=10, what="the worker's success line")
    assert all(line["request_id"] == request_id for line in worker_lines), worker_lines
    assert key not in stack.log("api") + stack.log("worker")


def test_the_whole_flow_on_s3(make_stack: type[Stack], s3: S3Emulator, tmp_path: Path) -> None:
    stack = make_stack({**s3.env, "IMAGE_STORE_URL": f"s3://{s3.bucket}/e2e/images"})
    stack.start_api()
    stack.start_worker()
    with stack.client() as client:
        key = mint(client)
        job = finished(client, key, submit(client, key, 2)["id"])
        assert job["status"] == "succeeded", job
        for image in job["images"]:
            answer = client.get(image["url"], headers=bearer(key))
            assert answer.status_code == 200
            assert answer.headers["content-type"] == "image/png"
            assert len(answer.content) == image["bytes"]
            assert Image.open(io.BytesIO(answer.content)).size == (1024, 1024)
        assert client.get(f"/v1/jobs/{job['id']}/images/2", headers=bearer(key)).status_code == 404
    prefix = f"e2e/images/{job['id']}/1/"  # each attempt's images apart: this is attempt 1's
    assert s3.keys(prefix) == [prefix + "0.img", prefix + "1.img"]
    assert not (tmp_path / "images").exists()  # nothing went to the filesystem store
