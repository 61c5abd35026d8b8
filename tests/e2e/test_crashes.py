"""Faults injected into real processes: workers killed mid-generation, a worker stalled past
its lease, an API that dies between charging and enqueueing. Nothing is lost and nothing is
charged twice."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest
import redis

from entrypoints.celery_app import QUEUE
from tests.e2e.stack import Stack, wait_until
from tests.e2e.test_flow import bearer, mint, refunded_to

CRASHING_API = Path(__file__).with_name("crashing_api.py")
FAST_RECOVERY = {
    "JOB_LEASE_SECONDS": "2",
    "SWEEP_INTERVAL_SECONDS": "0.3",
    "SWEEP_GRACE_SECONDS": "2",
    "PLACEHOLDER_DELAY_MS": "4000",
}


def job_state(client: httpx.Client, key: str, job_id: str) -> dict[str, object]:
    return dict(client.get(f"/v1/jobs/{job_id}", headers=bearer(key)).json())


def succeeded(client: httpx.Client, key: str, job_id: str, *, what: str) -> dict[str, object]:
    """The job once it has succeeded (waiting up to a minute for it)."""
    return wait_until(
        lambda: (state := job_state(client, key, job_id))["status"] == "succeeded" and state,
        timeout=60,
        what=what,
    )


def remaining(client: httpx.Client, key: str) -> int:
    return int(client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"])


def test_worker_killed_mid_generation_the_job_still_succeeds_charged_once(
    make_stack: type[Stack],
) -> None:
    stack = make_stack(FAST_RECOVERY)
    stack.start_api()
    stack.start_worker("doomed")
    with stack.client() as client:
        key = mint(client)
        job_id = client.post(
            "/v1/images/generations", json={"prompt": "p"}, headers=bearer(key)
        ).json()["id"]
        wait_until(
            lambda: job_state(client, key, job_id)["status"] == "running",
            timeout=30,
            what="the job to start",
        )
        stack.kill("doomed")
        assert job_state(client, key, job_id)["status"] == "running"
        stack.start_worker("rescuer")
        done = succeeded(client, key, job_id, what="the job to succeed on the new worker")
        assert done["attempts"] == 2
        assert done["credits"] == {"charged": 1, "refunded": 0}
        assert remaining(client, key) == 9
        assert "requeued 1" in stack.log("rescuer")


def test_a_job_that_kills_every_worker_fails_as_worker_lost_refunded_once(
    make_stack: type[Stack],
) -> None:
    cap = 3
    stack = make_stack({**FAST_RECOVERY, "JOB_MAX_ATTEMPTS": str(cap)})
    stack.start_api()
    with stack.client() as client:
        key = mint(client)
        job_id = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 2}, headers=bearer(key)
        ).json()["id"]
        for attempt in range(1, cap + 1):
            name = f"worker{attempt}"
            stack.start_worker(name)
            wait_until(
                lambda a=attempt: (
                    job_state(client, key, job_id)["attempts"] == a
                    and job_state(client, key, job_id)["status"] == "running"
                ),
                timeout=30,
                what=f"attempt {attempt} to start",
            )
            stack.kill(name)
        stack.start_worker("sweeper")
        # The refund follows the `failed` transition a moment later (same sweep or claim).
        failed = wait_until(
            lambda: (
                (state := job_state(client, key, job_id))["status"] == "failed"
                and state["credits"]["refunded"]
                and state
            ),
            timeout=60,
            what="the job to fail and be refunded",
        )
        assert failed["error"]["code"] == "worker_lost"  # type: ignore[index]
        assert failed["attempts"] == cap
        assert failed["credits"] == {"charged": 2, "refunded": 2}
        refunded_to(client, key, 10)
        # The sweeper keeps running: still refunded exactly once.
        wait_until(lambda: "refunded 1" in stack.log("sweeper"), timeout=10, what="the refund")
        assert remaining(client, key) == 10


@pytest.mark.parametrize("broker", ["separate", "same-redis"])
def test_api_killed_between_charge_and_enqueue_the_job_still_runs_once(
    make_stack: type[Stack], stack_redis_url: str, broker: str
) -> None:
    """With a broker of its own the job waits in the outbox for the sweeper; with the broker in
    the job store's Redis the admission pushed its message already (one atomic script)."""
    env = {**FAST_RECOVERY, "PLACEHOLDER_DELAY_MS": "0"}
    if broker == "separate":  # database 0 of the same Valkey: not the stack's own database
        env["CELERY_BROKER_URL"] = stack_redis_url.rsplit("/", 1)[0] + "/0"
        redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete(QUEUE)
    stack = make_stack(env)
    stack.start_api("doomed-api", launcher=CRASHING_API)
    key = mint(stack.client())
    with pytest.raises(httpx.TransportError):
        stack.client().post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(key))
    wait_until(lambda: stack.processes["doomed-api"].poll() is not None, timeout=10, what="death")
    assert stack.processes["doomed-api"].returncode == 70
    stack.start_api()
    with stack.client() as client:
        jobs = client.get("/v1/jobs", headers=bearer(key)).json()["data"]
        assert [job["status"] for job in jobs] == ["queued"]
        assert remaining(client, key) == 9
        stack.start_worker()
        done = succeeded(client, key, jobs[0]["id"], what="the swept job to succeed")
        assert done["credits"] == {"charged": 1, "refunded": 0}
        assert remaining(client, key) == 9
        assert ("enqueued 1" in stack.log("worker")) is (broker == "separate")


@pytest.mark.parametrize("first_finishes_first", [False, True], ids=["second-first", "first-first"])
def test_a_worker_stalled_past_its_lease_cannot_spoil_the_job_that_was_taken_over(
    make_stack: type[Stack], first_finishes_first: bool
) -> None:
    """SIGSTOP a worker mid-generation until the sweeper gives its job to a second worker, then
    SIGCONT it: whichever attempt finishes first, the job succeeds once, is charged once, and
    every image it lists is served (the stalled attempt's result and bytes go nowhere)."""
    stack = make_stack({**FAST_RECOVERY, "PLACEHOLDER_DELAY_MS": "3000"})
    stack.start_api()
    stack.start_worker("stalled")
    with stack.client() as client:
        key = mint(client)
        job_id = client.post(
            "/v1/images/generations", json={"prompt": "p", "n": 2}, headers=bearer(key)
        ).json()["id"]
        wait_until(
            lambda: job_state(client, key, job_id)["status"] == "running",
            timeout=30,
            what="attempt 1 to start",
        )
        stalled = stack.processes["stalled"].pid
        os.killpg(stalled, signal.SIGSTOP)
        try:
            # The second attempt outlasts the first when the first is to finish first.
            delay = "8000" if first_finishes_first else "200"
            stack.start_worker("rescuer", {"PLACEHOLDER_DELAY_MS": delay})
            taken_over = "running" if first_finishes_first else "succeeded"

            def second_started() -> bool:
                state = job_state(client, key, job_id)
                return state["attempts"] == 2 and state["status"] == taken_over

            wait_until(second_started, timeout=60, what="attempt 2 to take over")
        finally:
            os.killpg(stalled, signal.SIGCONT)
        wait_until(
            lambda: "lost the job" in stack.log("stalled"),
            timeout=30,
            what="the stalled attempt to wake and give up",
        )
        if first_finishes_first:
            assert job_state(client, key, job_id)["status"] == "running"
        done = succeeded(client, key, job_id, what="the job to succeed")
        assert done["attempts"] == 2
        assert done["credits"] == {"charged": 2, "refunded": 0}
        assert remaining(client, key) == 8
        images = done["images"]
        assert isinstance(images, list) and len(images) == 2
        for image in images:
            served = client.get(image["url"], headers=bearer(key))
            assert served.status_code == 200
            assert len(served.content) == image["bytes"]
