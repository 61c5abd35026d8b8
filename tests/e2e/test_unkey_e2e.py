"""The whole service on Unkey (issue 3): real `imagegate api` and `imagegate worker` processes,
QUOTA_PROVIDER=unkey, against the fake Unkey v2 server running as a separate process on
loopback. What Unkey received is read back from the fake's request log."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from PIL import Image

from entrypoints.http.auth import COOKIE_NAME
from tests.e2e.stack import ROOT, Stack, free_port, wait_until
from tests.e2e.test_flow import bearer, mint, queued_messages

if TYPE_CHECKING:
    from tests.fakes.unkey_fixtures import FakeUnkeyProcess

pytest_plugins = ["tests.fakes.unkey_fixtures"]

CREATE, VERIFY, GET_KEY = "/v2/keys.createKey", "/v2/keys.verifyKey", "/v2/keys.getKey"
UPDATE_CREDITS, DELETE = "/v2/keys.updateCredits", "/v2/keys.deleteKey"
V2_PATHS = {CREATE, VERIFY, GET_KEY, UPDATE_CREDITS, DELETE}
# The request fields UNKEY.md allows on each endpoint (the real API rejects unknown fields).
CREATE_FIELDS = {
    "apiId", "prefix", "name", "externalId", "meta", "expires", "enabled", "recoverable",
    "credits",
}  # fmt: skip
VERIFY_FIELDS = {"key", "credits", "tags", "permissions", "ratelimits"}
UNKEY_TIMEOUT = 1.0


def unkey_stack(make_stack: type[Stack], fake: FakeUnkeyProcess, **env: str) -> Stack:
    return make_stack({**fake.env, "UNKEY_TIMEOUT_SECONDS": str(UNKEY_TIMEOUT), **env})


def balance_at_the_fake(fake: FakeUnkeyProcess, key_id: str) -> int:
    """The key's credits as Unkey itself holds them (not as the API reports them)."""
    response = httpx.post(
        f"{fake.base_url}{GET_KEY}",
        json={"keyId": key_id},
        headers={"authorization": f"Bearer {fake.root_key}"},
        timeout=5,
    )
    response.raise_for_status()
    return int(response.json()["data"]["credits"]["remaining"])


def seconds_to_utc_midnight() -> float:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return (midnight - now).total_seconds()


# --- the foundation flow on Unkey ---------------------------------------------------------


@dataclass
class Flow:
    """What the seed flow saw, and what the fake Unkey received meanwhile."""

    me: httpx.Response
    submitted: httpx.Response
    job: dict[str, Any]
    image: httpx.Response
    seed: httpx.Response
    seed_image: httpx.Response
    key_id: str
    key: str
    unkey_requests: list[dict[str, Any]]


@pytest.fixture
def flow(make_stack: type[Stack], fake_unkey_process: FakeUnkeyProcess) -> Flow:
    stack = unkey_stack(make_stack, fake_unkey_process)
    stack.start_api()
    stack.start_worker()
    with stack.client() as client:
        authorized = client.post("/authorize")
        assert authorized.status_code == 303, authorized.text
        assert authorized.headers["location"] == "/me"
        me = client.get("/me")
        assert me.status_code == 200, me.text

        submitted = client.post(
            "/v1/images/generations", json={"prompt": "a lighthouse at dusk", "size": "1536x1024"}
        )
        assert submitted.status_code == 202, submitted.text
        location = submitted.headers["location"]

        def finished() -> dict[str, Any] | None:
            job: dict[str, Any] = client.get(location).json()
            return job if job["status"] not in ("queued", "running") else None

        job = wait_until(finished, timeout=20, what="the job to finish", every=0.1)
        image = client.get(job["images"][0]["url"]) if job["images"] else httpx.Response(404)

        seed = client.post("/generate_image", json={"prompt": "a red bicycle"})
        assert seed.status_code == 200, seed.text
        seed_image = client.get(seed.json()["image_url"])
        key = client.cookies[COOKIE_NAME]
    return Flow(
        me=me,
        submitted=submitted,
        job=job,
        image=image,
        seed=seed,
        seed_image=seed_image,
        key_id=me.json()["key_id"],
        key=key,
        unkey_requests=fake_unkey_process.requests(),
    )


def test_the_foundation_flow_runs_on_unkey(flow: Flow) -> None:
    credits = flow.me.json()["credits"]
    assert credits["remaining"] == 10
    assert credits["refill"] == {"interval": "daily", "amount": 10, "refill_day": None}
    assert credits["next_refill_at"].endswith("T00:00:00Z")
    assert flow.me.headers["ratelimit-policy"] == '"credits";q=10;w=86400'
    assert flow.me.json()["key_id"].startswith("key_")  # Unkey's id, not a local one

    assert flow.submitted.headers["location"] == f"/v1/jobs/{flow.submitted.json()['id']}"
    assert flow.submitted.headers["retry-after"]
    assert flow.submitted.headers["ratelimit"].startswith('"credits";r=9;')

    assert flow.job["status"] == "succeeded", flow.job
    assert flow.job["credits"] == {"charged": 1, "refunded": 0}
    assert flow.image.status_code == 200
    assert flow.image.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(flow.image.content))
    assert picture.format == "PNG"
    assert picture.size == (1536, 1024)

    body = flow.seed.json()
    assert set(body) == {"image_url", "remaining_calls", "job_id"}
    assert body["remaining_calls"] == 8  # Unkey's own balance after the second charge
    assert flow.seed_image.status_code == 200
    assert Image.open(io.BytesIO(flow.seed_image.content)).format == "PNG"


def test_the_flow_sends_exactly_unkey_v2_requests(
    flow: Flow, fake_unkey_process: FakeUnkeyProcess
) -> None:
    requests = flow.unkey_requests
    paths = Counter(r["path"] for r in requests)
    assert set(paths) <= V2_PATHS, paths  # nothing of v1, nothing unknown
    assert paths[CREATE] == 1
    for request in requests:
        assert request["method"] == "POST"
        assert request["headers"]["authorization"] == f"Bearer {fake_unkey_process.root_key}"
        assert request["headers"]["content-type"].startswith("application/json")

    [create] = [r["body"] for r in requests if r["path"] == CREATE]
    assert set(create) <= CREATE_FIELDS
    assert create["apiId"] == fake_unkey_process.api_id
    assert create["credits"] == {"remaining": 10, "refill": {"interval": "daily", "amount": 10}}
    assert "ownerId" not in create  # v1's field

    verifies = [r["body"] for r in requests if r["path"] == VERIFY]
    for body in verifies:
        assert "apiId" not in body  # a 400 on v2
        assert set(body) <= VERIFY_FIELDS
        assert body["key"] == flow.key
        assert set(body["credits"]) == {"cost"}
    costs = Counter(body["credits"]["cost"] for body in verifies)
    assert set(costs) == {0, 1}  # reads spend 0, explicitly; submits spend n
    assert costs[1] == 2  # one charge per submit: nothing retried, nothing charged twice

    for body in (r["body"] for r in requests if r["path"] == GET_KEY):
        assert body == {"keyId": flow.key_id}
    assert balance_at_the_fake(fake_unkey_process, flow.key_id) == 8


# --- failing closed -----------------------------------------------------------------------


FAULTS = {
    "http-500": {"mode": "status", "status": 500},
    "slow": {"mode": "slow", "delay": UNKEY_TIMEOUT + 2},
    "hung": {"mode": "hang"},
    "garbage": {"mode": "malformed"},
    "wrong-shape": {"mode": "unexpected"},
    "rate-limited": {"mode": "rate_limit", "retry_after": 5},
    "dropped": {"mode": "drop"},
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=list(FAULTS))
def test_unkey_failing_means_503_and_nothing_enqueued(
    make_stack: type[Stack], fake_unkey_process: FakeUnkeyProcess, fault: dict[str, Any]
) -> None:
    stack = unkey_stack(make_stack, fake_unkey_process)
    stack.start_api()  # no worker: whatever is enqueued stays in the broker's list
    with stack.client() as client:
        key = mint(client)
        enqueued_before = queued_messages(stack)
        verifies_before = len(fake_unkey_process.requests(VERIFY))

        fake_unkey_process.set_fault(**fault)
        started = time.monotonic()
        response = client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
        elapsed = time.monotonic() - started
        fake_unkey_process.set_fault("none")

        assert response.status_code == 503, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "quota_unavailable"
        assert problem["status"] == 503
        assert {"type", "title", "detail"} <= set(problem)
        assert int(response.headers["retry-after"]) > 0
        assert elapsed < UNKEY_TIMEOUT + 1, f"answered after {elapsed:.2f}s"
        # Exactly the one charge attempt: a verify is not idempotent, so it is never retried.
        assert len(fake_unkey_process.requests(VERIFY)) - verifies_before == 1

        assert queued_messages(stack) == enqueued_before == 0
        jobs = client.get("/v1/jobs", headers=bearer(key))
        assert jobs.status_code == 200, jobs.text
        assert jobs.json()["data"] == []


# --- credits ------------------------------------------------------------------------------


def test_the_eleventh_credit_is_429_and_cancel_refunds_through_unkey(
    make_stack: type[Stack], fake_unkey_process: FakeUnkeyProcess
) -> None:
    stack = unkey_stack(make_stack, fake_unkey_process)
    stack.start_api()  # no worker, so the jobs stay queued and can be canceled
    with stack.client() as client:
        key = mint(client)
        first = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 2}, headers=bearer(key)
        )
        assert first.status_code == 202, first.text
        for _ in range(8):
            response = client.post(
                "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
            )
            assert response.status_code == 202, response.text
        key_id = client.get("/v1/me", headers=bearer(key)).json()["key_id"]
        assert balance_at_the_fake(fake_unkey_process, key_id) == 0

        refused = client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
        assert refused.status_code == 429, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "quota_exceeded"
        assert abs(int(refused.headers["retry-after"]) - seconds_to_utc_midnight()) <= 5
        assert refused.headers["ratelimit"].startswith('"credits";r=0')
        assert queued_messages(stack) == 9
        assert balance_at_the_fake(fake_unkey_process, key_id) == 0  # refusal took nothing

        canceled = client.post(f"/v1/jobs/{first.json()['id']}/cancel", headers=bearer(key))
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["credits"] == {"charged": 2, "refunded": 2}
        refunds = [r["body"] for r in fake_unkey_process.requests(UPDATE_CREDITS)]
        assert refunds == [{"keyId": key_id, "operation": "increment", "value": 2}]
        assert balance_at_the_fake(fake_unkey_process, key_id) == 2
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 2

        again = client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
        assert again.status_code == 202, again.text
        assert balance_at_the_fake(fake_unkey_process, key_id) == 1


# --- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["api", "worker"])
def test_unkey_without_an_api_id_stops_startup_naming_it(tmp_path: Any, role: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": f"{ROOT / 'src'}:{ROOT}",
        "QUOTA_PROVIDER": "unkey",
        "UNKEY_ROOT_KEY": "unkey_root_must_not_be_printed",
        "REDIS_URL": "redis://127.0.0.1:9/0",
        "PORT": str(free_port()),
    }
    # An empty working directory: no `.env` may supply the missing variable.
    try:
        result = subprocess.run(
            [sys.executable, "-m", "entrypoints.cli", role],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=15,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"imagegate {role} started without UNKEY_API_ID")
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "UNKEY_API_ID" in output
    assert "unkey_root_must_not_be_printed" not in output
