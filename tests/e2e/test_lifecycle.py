"""The job lifecycle through real processes: the event stream, queue positions, deadlines and
cancel of running jobs (DESIGN "Job lifecycle")."""

from __future__ import annotations

import signal
from typing import Any

import httpx

from tests.e2e.lifecycle_support import (
    BODY,
    balance,
    bearer,
    event_order,
    events,
    job,
    mint,
    submit,
)
from tests.e2e.stack import Stack, wait_until

FAST_WORKER = {"PLACEHOLDER_DELAY_MS": "300", "SWEEP_INTERVAL_SECONDS": "0.5"}


def test_the_event_stream_follows_a_job_to_its_end_and_resumes(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack(FAST_WORKER)
    stack.start_api()  # no worker yet: the job waits in the queue
    with stack.client() as client:
        key = mint(client)
        job_id = submit(client, key)["id"]
        seen = []
        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=bearer(key)) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            received = events(stream)
            first = next(received)
            assert first.name == "job" and first.job["status"] == "queued"
            assert first.job["queue"]["position"] == 0
            seen.append(first)
            stack.start_worker()
            seen.extend(received)  # ends when the server closes the stream after the terminal
        statuses = [e.job["status"] for e in seen]
        assert statuses[0] == "queued" and statuses[-1] == "succeeded"
        assert "running" in statuses
        assert statuses.index("running") < statuses.index("succeeded")
        orders = [event_order(e) for e in seen]
        assert orders == sorted(set(orders))  # strictly increasing ids

        running = next(e for e in seen if e.job["status"] == "running")
        resume = {**bearer(key), "Last-Event-ID": running.id}
        with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=resume) as stream:
            rest = list(events(stream))
        assert [e.job["status"] for e in rest][-1] == "succeeded"
        assert all(event_order(e) > event_order(running) for e in rest)

        stranger = mint(client)
        other = client.get(f"/v1/jobs/{job_id}/events", headers=bearer(stranger))
        assert other.status_code == 404
        assert other.headers["content-type"].startswith("application/problem+json")


def test_queued_jobs_show_their_positions_in_submit_order_and_drain(make_stack) -> None:  # type: ignore[no-untyped-def]
    stack: Stack = make_stack(FAST_WORKER)
    stack.start_api()
    with stack.client() as client:
        key = mint(client)
        ids = [submit(client, key)["id"] for _ in range(5)]
        jobs = [job(client, key, job_id) for job_id in ids]
        assert [j["queue"]["position"] for j in jobs] == [0, 1, 2, 3, 4]
        assert all(j["eta_seconds"] is None and j["deadline_at"] is None for j in jobs)
        stack.start_worker()
        wait_until(
            lambda: all(job(client, key, i)["status"] == "succeeded" for i in ids),
            timeout=60,
            what="the queue to drain",
        )
        done = job(client, key, ids[0])
        assert done["queue"] is None and done["eta_seconds"] is None
        assert done["finished_at"].endswith("Z") and "." in done["finished_at"]  # milliseconds
        assert balance(client, key) == 5
        # A worker killed outright leaves its capacity until it lapses; with the recent run
        # times the next queued job gets an estimate (its inputs are cached for a second).
        stack.kill("worker", signal.SIGKILL)
        queued = submit(client, key)["id"]
        estimated = wait_until(
            lambda: (j := job(client, key, queued))["queue"]["eta_seconds"] is not None and j,
            timeout=10,
            what="an ETA",
        )
        assert estimated["status"] == "queued"
        assert isinstance(estimated["queue"]["eta_seconds"], int)


def test_a_long_poll_on_submit_answers_200_with_the_finished_job(stack: Stack) -> None:
    with stack.client() as client:
        key = mint(client)
        answer = client.post(
            "/v1/images/generations",
            json={"prompt": "a harbour", "size": "256x256"},
            headers={**bearer(key), "Prefer": "wait=20"},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "succeeded"
        assert answer.headers["preference-applied"] == "wait=20"


def test_a_stream_of_an_unknown_job_is_404(stack: Stack) -> None:
    with stack.client() as client:
        key = mint(client)
        assert client.get("/v1/jobs/job_nope/events", headers=bearer(key)).status_code == 404


def stored_images(stack: Stack, job_id: str) -> list[str]:
    folder = stack.workdir / "images" / job_id
    return [str(p) for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def _becomes(client: httpx.Client, key: str, job_id: str, status: str) -> dict[str, Any]:
    return wait_until(
        lambda: (j := job(client, key, job_id))["status"] == status and j,
        timeout=20,
        what=f"{job_id} to be {status}",
    )


def test_a_queued_job_past_its_deadline_is_aborted_and_refunded_with_no_worker(
    make_stack,  # type: ignore[no-untyped-def]
) -> None:
    stack: Stack = make_stack()
    stack.start_api()  # no worker at all: the API enforces the deadline itself
    with stack.client() as client:
        key = mint(client)
        before = balance(client, key)
        submitted = submit(client, key, **{"Cancel-After": "2s"})
        assert submitted["deadline_at"] is not None
        assert balance(client, key) == before - 1
        aborted = _becomes(client, key, submitted["id"], "aborted")
        assert aborted["error"]["code"] == "deadline_exceeded"
        assert aborted["queue"] is None
        wait_until(lambda: balance(client, key) == before, timeout=10, what="the refund")
        assert aborted["credits"]["charged"] == 1


def test_a_running_job_past_its_deadline_is_canceled_refunded_and_stores_nothing(
    make_stack,  # type: ignore[no-untyped-def]
) -> None:
    stack: Stack = make_stack({"PLACEHOLDER_DELAY_MS": "3000", "SWEEP_INTERVAL_SECONDS": "0.5"})
    stack.start_api()
    stack.start_worker()
    with stack.client() as client:
        key = mint(client)
        before = balance(client, key)
        response = client.post(
            "/v1/images/generations",
            json={**BODY, "deadline_seconds": 1},
            headers=bearer(key),
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        canceled = _becomes(client, key, job_id, "canceled")
        assert canceled["error"]["code"] == "deadline_exceeded"
        assert canceled["started_at"] is not None
        wait_until(lambda: balance(client, key) == before, timeout=10, what="the refund")
        wait_until(
            lambda: "lost the job" in stack.log("worker"), timeout=20, what="the late result"
        )
        after = job(client, key, job_id)
        assert after["status"] == "canceled" and after["images"] == []
        assert stored_images(stack, job_id) == []
        assert balance(client, key) == before  # refunded once


def test_bad_deadlines_are_422_naming_the_field_and_charge_nothing(stack: Stack) -> None:
    with stack.client() as client:
        key = mint(client)
        before = balance(client, key)
        cases = [
            ({"Cancel-After": "soon"}, {}, "Cancel-After"),
            ({"Cancel-After": "25h"}, {}, "Cancel-After"),
            ({}, {"deadline_seconds": 0}, "deadline_seconds"),
            ({}, {"deadline_seconds": 86_401}, "deadline_seconds"),
            ({}, {"deadline_seconds": "10"}, "deadline_seconds"),
        ]
        for headers, body, field in cases:
            answer = client.post(
                "/v1/images/generations", json={**BODY, **body}, headers={**bearer(key), **headers}
            )
            assert answer.status_code == 422, (headers, body, answer.text)
            assert field in answer.text
        assert balance(client, key) == before


def test_cancel_of_a_running_job_refunds_it_and_the_worker_stores_nothing(
    make_stack,  # type: ignore[no-untyped-def]
) -> None:
    stack: Stack = make_stack({"PLACEHOLDER_DELAY_MS": "2000"})
    stack.start_api()
    stack.start_worker()
    with stack.client() as client:
        key = mint(client)
        before = balance(client, key)
        job_id = submit(client, key)["id"]
        _becomes(client, key, job_id, "running")
        canceled = client.post(f"/v1/jobs/{job_id}/cancel", headers=bearer(key))
        assert canceled.status_code == 200, canceled.text
        assert canceled.json()["status"] == "canceled"
        assert canceled.json()["credits"]["refunded"] == 1
        assert balance(client, key) == before
        again = client.post(f"/v1/jobs/{job_id}/cancel", headers=bearer(key))
        assert again.status_code == 409
        # The worker learns at its next renewal (about a second) and abandons the attempt.
        wait_until(lambda: "lost the job" in stack.log("worker"), timeout=20, what="abandon")
        assert stored_images(stack, job_id) == []
        after = job(client, key, job_id)
        assert after["status"] == "canceled" and after["images"] == []
        assert balance(client, key) == before  # refunded once
