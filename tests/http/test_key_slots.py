"""No request keeps its key's concurrent-request slot after it has been answered: whatever the
route and however it ends (success, 404, 422, a long-poll, a stream), the key's slots are all
free again, or a key would be locked out by its own past requests."""

from __future__ import annotations

from litestar.testing import TestClient

from domain.models import JobStatus
from tests.http.conftest import Fakes, bearer, mint

Client = TestClient  # type: ignore[type-arg]
BODY = {"prompt": "a cat", "model": "placeholder"}


def test_every_kind_of_answer_gives_the_key_slot_back(client: Client, fakes: Fakes) -> None:
    key = mint(client)
    auth = bearer(key)
    job_id = client.post("/v1/images/generations", json=BODY, headers=auth).json()["id"]
    job = fakes.jobs.jobs[job_id]  # ended, so its stream ends after one event
    fakes.jobs.jobs[job_id] = job.evolve(status=JobStatus.SUCCEEDED, finished_at=job.created_at)
    requests = [
        ("GET", f"/v1/jobs/{job_id}", {}),
        ("GET", f"/v1/jobs/{job_id}", {"prefer": "wait=1"}),
        ("GET", "/v1/jobs/job_nope", {}),
        ("GET", "/v1/jobs?limit=0", {}),
        ("GET", "/v1/jobs?cursor=%00", {}),
        ("GET", f"/v1/jobs/{job_id}/events", {}),
        ("GET", "/v1/jobs/job_nope/events", {}),
        ("GET", f"/v1/jobs/{job_id}/webhooks", {}),
        ("GET", "/v1/me/usage", {}),
        ("GET", "/v1/me/usage?from=yesterday", {}),
        ("GET", "/v1/webhooks/secret", {}),
        ("POST", f"/v1/jobs/{job_id}/cancel", {}),
        ("GET", f"/v1/jobs/{job_id}/images/0", {}),
    ]
    callers = client.app.state.container.callers
    statuses, held = [], []
    for method, path, headers in requests:
        statuses.append(client.request(method, path, headers={**auth, **headers}).status_code)
        in_flight = callers.key_limiter.in_flight(job.owner)
        waiting = callers.waiter_limiter.in_flight(job.owner)
        if in_flight or waiting:
            held.append((method, path, statuses[-1], in_flight, waiting))
    assert any(s >= 400 for s in statuses) and any(s < 300 for s in statuses), statuses
    assert held == []
