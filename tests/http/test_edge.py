"""The HTTP edge in process: problem JSON, auth, idempotency, quota headers, strict bodies."""

from __future__ import annotations

from litestar.testing import TestClient

from domain.errors import StoreUnavailable
from entrypoints.http.app import create_app
from tests.fakes.clock import FrozenClock
from tests.http.conftest import SETTINGS, Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
Client = TestClient  # type: ignore[type-arg]


def balance(fakes: Fakes) -> list[int]:
    return list(fakes.quota.balances.values())


def test_a_string_where_a_number_belongs_is_a_422_naming_the_field_and_charges_nothing(
    client: Client, fakes: Fakes
) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": "p", "n": "2"}, headers=bearer(key))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "invalid_request"
    assert problem["errors"][0]["field"] == "n"
    assert balance(fakes) == [10]
    assert fakes.jobs.jobs == {}
    # A number is fine, and charged.
    assert client.post(SUBMIT, json={"prompt": "p", "n": 2}, headers=bearer(key)).status_code == 202
    assert balance(fakes) == [8]


def test_an_out_of_range_field_keeps_its_message_and_names_the_field(client: Client) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": "p", "n": 11}, headers=bearer(key))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "n"


def test_malformed_json_is_a_400_problem(client: Client) -> None:
    key = mint(client)
    answer = client.post(
        SUBMIT,
        content=b"{not json",
        headers={**bearer(key), "content-type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_submit_answers_202_with_location_and_the_quota_headers(
    client: Client, fakes: Fakes
) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": "p", "n": 3}, headers=bearer(key))
    assert answer.status_code == 202
    job = answer.json()
    assert answer.headers["location"] == f"/v1/jobs/{job['id']}"
    assert answer.headers["ratelimit"].startswith('"credits";r=7')
    assert answer.headers["ratelimit-policy"] == '"credits";q=10;w=86400'
    assert fakes.queue.sent == [job["id"]]
    read = client.get(f"/v1/jobs/{job['id']}", headers=bearer(key))
    assert read.status_code == 200 and read.json()["status"] == "queued"
    assert read.headers["ratelimit"].startswith('"credits";r=7')


class _UnreadableQueue:
    """Queue places on a store that just went down."""

    async def place(self, job_id: str) -> None:
        raise StoreUnavailable()

    async def stats(self) -> None:
        raise StoreUnavailable()


def test_a_submit_whose_queue_place_cannot_be_read_is_still_a_202_charged_once(
    fakes: Fakes,
) -> None:
    """The job was charged and queued before its place was read: a 500 (or a 503) would invite
    a retry that pays twice. The answer leaves the estimate out instead."""
    fakes.places = _UnreadableQueue()  # type: ignore[assignment]
    app = create_app(SETTINGS, container_factory=fakes.container, clock=FrozenClock())
    with TestClient(app) as client:
        key = mint(client)
        answer = client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(key))
        assert answer.status_code == 202
        assert answer.json()["status"] == "queued" and answer.json()["queue"] is None
        assert answer.headers["ratelimit"].startswith('"credits";r=9')
        read = client.get(f"/v1/jobs/{answer.json()['id']}", headers=bearer(key))
        assert read.status_code == 200 and read.json()["queue"] is None
    assert fakes.queue.sent == [answer.json()["id"]]


def test_quota_exceeded_is_a_429_with_the_balance(client: Client) -> None:
    key = mint(client)
    assert (
        client.post(SUBMIT, json={"prompt": "p", "n": 10}, headers=bearer(key)).status_code == 202
    )
    answer = client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(key))
    assert answer.status_code == 429
    assert answer.json()["code"] == "quota_exceeded"
    assert answer.headers["ratelimit"].startswith('"credits";r=0')


def test_no_key_is_a_401_with_a_challenge_and_a_wrong_scheme_too(client: Client) -> None:
    answer = client.get("/v1/jobs")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="imagegate"'
    assert answer.json()["code"] == "unauthenticated"
    assert client.get("/v1/jobs", headers={"Authorization": "Basic abc"}).status_code == 401
    unknown = client.get("/v1/jobs", headers=bearer("ig_unknown"))
    assert unknown.status_code == 401 and unknown.json()["code"] == "invalid_key"


def test_the_cookie_authenticates_same_origin_and_is_refused_cross_origin(
    client: Client, fakes: Fakes
) -> None:
    key = mint(client)
    client.cookies.set("imagegate_key", key)
    assert client.get("/v1/me").status_code == 200
    cross = client.post(SUBMIT, json={"prompt": "p"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert cross.json()["code"] == "forbidden"
    assert balance(fakes) == [10]
    same = client.post(SUBMIT, json={"prompt": "p"}, headers={"Origin": "http://testserver.local"})
    assert same.status_code == 202
    # Bearer requests are not affected by the origin.
    client.cookies.clear()
    other = client.post(
        SUBMIT, json={"prompt": "p"}, headers={**bearer(key), "Origin": "https://evil.example"}
    )
    assert other.status_code == 202


def test_an_idempotent_retry_replays_the_first_answer_without_charging_again(
    client: Client, fakes: Fakes
) -> None:
    key = mint(client)
    headers = {**bearer(key), "Idempotency-Key": "once"}
    first = client.post(SUBMIT, json={"prompt": "p", "n": 2}, headers=headers)
    again = client.post(SUBMIT, json={"prompt": "p", "n": 2}, headers=headers)
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    assert balance(fakes) == [8]
    other = client.post(SUBMIT, json={"prompt": "q", "n": 2}, headers=headers)
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert balance(fakes) == [8]


def test_a_failed_submit_leaves_no_idempotency_record(client: Client, fakes: Fakes) -> None:
    key = mint(client)
    headers = {**bearer(key), "Idempotency-Key": "retry-me"}
    fakes.queue.down = True
    failed = client.post(SUBMIT, json={"prompt": "p"}, headers=headers)
    assert failed.status_code == 503
    assert failed.json()["code"] == "queue_unavailable"
    assert failed.headers["retry-after"] == "2"
    assert balance(fakes) == [10]
    fakes.queue.down = False
    assert client.post(SUBMIT, json={"prompt": "p"}, headers=headers).status_code == 202


def test_cancel_refunds_and_a_second_cancel_is_a_409(client: Client, fakes: Fakes) -> None:
    key = mint(client)
    job = client.post(SUBMIT, json={"prompt": "p", "n": 2}, headers=bearer(key)).json()
    canceled = client.post(f"/v1/jobs/{job['id']}/cancel", headers=bearer(key))
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert balance(fakes) == [10]
    again = client.post(f"/v1/jobs/{job['id']}/cancel", headers=bearer(key))
    assert again.status_code == 409 and again.json()["code"] == "job_not_cancelable"


def test_another_keys_job_is_not_found_and_a_bad_cursor_names_it(client: Client) -> None:
    mine, theirs = mint(client), mint(client)
    job = client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(mine)).json()
    assert client.get(f"/v1/jobs/{job['id']}", headers=bearer(theirs)).status_code == 404
    listed = client.get("/v1/jobs", headers=bearer(theirs))
    assert listed.status_code == 200 and listed.json()["data"] == []


def test_minting_is_rate_limited(client: Client, fakes: Fakes) -> None:
    fakes.limiter.limit = 1
    assert client.post("/v1/keys").status_code == 201
    refused = client.post("/v1/keys")
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "60"


def test_readiness_names_what_is_down(client: Client, fakes: Fakes) -> None:
    assert client.get("/readyz").json()["status"] == "ready"
    fakes.queue.down = True
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["broker"].startswith("unavailable")


def test_every_response_carries_a_request_id_and_unknown_routes_are_problems(
    client: Client,
) -> None:
    answer = client.get("/nowhere", headers={"X-Request-ID": "abc-123"})
    assert answer.status_code == 404
    assert answer.headers["x-request-id"] == "abc-123"
    assert answer.json()["code"] == "not_found"
    metrics = client.get("/metrics").text
    assert 'route="unmatched"' in metrics


def test_a_failed_jobs_error_answers_with_the_status_of_the_one_table() -> None:
    from entrypoints.http.problems import status_for_job_error

    assert status_for_job_error("content_policy") == 422
    assert status_for_job_error("invalid_request") == 422
    assert status_for_job_error("upstream_unavailable") == 502
    assert status_for_job_error("worker_lost") == 502


def test_each_domain_error_takes_the_status_of_its_nearest_listed_class() -> None:
    import inspect

    from domain import errors
    from entrypoints.http.problems import status_for

    expected = {
        errors.KeyDisabled: 401,  # via InvalidKey
        errors.UnknownPlan: 422,  # via InvalidRequest
        errors.InvalidWebhookUrl: 422,
        errors.SelfServeDisabled: 403,  # via Forbidden
        errors.ContentPolicyViolation: 422,  # its own entry, before GenerationError's 502
        errors.UpstreamTimeout: 502,  # via GenerationError
        errors.KeyNotFound: 404,
        errors.QuotaUnavailable: 503,  # its own, not RetryLater's (unlisted)
    }
    for cls, status in expected.items():
        assert status_for(cls.__new__(cls)) == status, cls.__name__
    assert status_for(errors.DomainError()) == 500
    every = [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.DomainError)
        and cls not in (errors.DomainError, errors.RetryLater)
    ]
    assert len(every) > 25
    unanswered = [cls.__name__ for cls in every if status_for(cls.__new__(cls)) == 500]
    assert unanswered == []


def test_a_bad_usage_day_names_the_query_parameter_as_sent(client: Client) -> None:
    key = mint(client)
    answer = client.get("/v1/me/usage?bucket=day&from=yesterday", headers=bearer(key))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "from"  # not the handler's name, `from_`
