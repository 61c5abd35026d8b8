"""Issue 11 in process: the security headers on every response, and submissions counted by
outcome on /metrics."""

from __future__ import annotations

from litestar.testing import TestClient

from tests.http.conftest import Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
Client = TestClient  # type: ignore[type-arg]


# --- 9. security headers ------------------------------------------------------------------


def test_every_response_carries_the_security_headers(client: Client) -> None:
    key = mint(client)
    job = client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(key)).json()
    for path in ["/healthz", "/v1/jobs", f"/v1/jobs/{job['id']}", "/nowhere", "/", "/schema"]:
        answer = client.get(path, headers=bearer(key) if path != "/v1/jobs" else {})
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"], path
        html = answer.headers["content-type"].startswith("text/html")
        assert answer.headers["referrer-policy"] == ("same-origin" if html else "no-referrer")
    # The playground keeps its own policy (its script, its images), not the API's.
    page = client.get("/")
    assert "script-src 'self'" in page.headers["content-security-policy"]


# --- 12. submissions by outcome -----------------------------------------------------------


def submitted(client: Client) -> dict[str, float]:
    counts = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("imagegate_jobs_submitted_total{"):
            outcome = line.split('outcome="')[1].split('"')[0]
            counts[outcome] = float(line.rsplit(" ", 1)[1])
    return counts


def test_submissions_are_counted_by_outcome(client: Client, fakes: Fakes) -> None:
    assert submitted(client) == dict.fromkeys(
        ("accepted", "quota_exceeded", "invalid", "unavailable"), 0.0
    )
    key = mint(client)
    headers = {**bearer(key), "Idempotency-Key": "once"}
    assert client.post(SUBMIT, json={"prompt": "p", "n": 9}, headers=headers).status_code == 202
    assert client.post(SUBMIT, json={"prompt": "p", "n": 9}, headers=headers).status_code == 202
    assert client.post(SUBMIT, json={"prompt": "p", "n": 2}, headers=bearer(key)).status_code == 429
    assert (
        client.post(SUBMIT, json={"prompt": "p", "n": "2"}, headers=bearer(key)).status_code == 422
    )
    assert (
        client.post(SUBMIT, json={"prompt": "p", "size": "7x7"}, headers=bearer(key)).status_code
        == 422
    )
    assert (
        client.post(
            SUBMIT, content=b"{", headers={**bearer(key), "content-type": "application/json"}
        ).status_code
        == 400
    )
    fakes.queue.known_down = True
    assert client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(key)).status_code == 503
    assert submitted(client) == {
        "accepted": 1.0,  # the replay is not a second submission
        "quota_exceeded": 1.0,
        "invalid": 3.0,
        "unavailable": 1.0,
    }
