"""Nobody sees another caller's data; bad input is a 4xx problem naming the field."""

from __future__ import annotations

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_flow import bearer, mint


@pytest.fixture
def api(make_stack: type[Stack]) -> Stack:
    stack = make_stack()
    stack.start_api()
    return stack


def test_another_keys_job_and_image_look_exactly_like_unknown_ids(api: Stack) -> None:
    with api.client() as client:
        owner, stranger = mint(client), mint(client)
        job = client.post("/v1/images/generations", json={"prompt": "p"}, headers=bearer(owner))
        job_id = job.json()["id"]
        assert client.get(f"/v1/jobs/{job_id}", headers=bearer(owner)).status_code == 200

        theirs = client.get(f"/v1/jobs/{job_id}", headers=bearer(stranger))
        unknown = client.get("/v1/jobs/job_doesnotexist000000000", headers=bearer(stranger))
        assert theirs.status_code == unknown.status_code == 404
        assert theirs.json() == unknown.json()
        assert theirs.headers["content-type"] == "application/problem+json"

        image = client.get(f"/v1/jobs/{job_id}/images/0", headers=bearer(stranger))
        unknown_image = client.get("/v1/jobs/job_nope/images/0", headers=bearer(stranger))
        assert image.status_code == unknown_image.status_code == 404
        assert image.json() == unknown_image.json()

        cancel = client.post(f"/v1/jobs/{job_id}/cancel", headers=bearer(stranger))
        assert cancel.status_code == 404
        assert client.get("/v1/jobs", headers=bearer(stranger)).json()["data"] == []
        assert client.get(f"/v1/jobs/{job_id}", headers=bearer(owner)).json()["status"] == "queued"


@pytest.mark.parametrize(
    "path", ["/v1/me", "/me", "/v1/jobs", "/v1/jobs/job_x", "/v1/jobs/job_x/images/0"]
)
def test_no_key_is_401(api: Stack, path: str) -> None:
    with api.client() as client:
        response = client.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    assert response.headers["content-type"] == "application/problem+json"


def test_a_wrong_key_is_401(api: Stack) -> None:
    with api.client() as client:
        response = client.get("/v1/me", headers=bearer("ig_notarealkey"))
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_key"
        basic = client.get("/v1/me", headers={"authorization": "Basic abc"})
        assert basic.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"{not json", 400, None),
        (b'{"prompt": 3}', 422, "prompt"),
        (b'{"prompt": ""}', 422, "prompt"),
        (b'{"prompt": "   "}', 422, "prompt"),
        (b'{"prompt": "' + b"x" * 32_001 + b'"}', 422, "prompt"),
        (b'{"prompt": "p", "n": 0}', 422, "n"),
        (b'{"prompt": "p", "n": 11}', 422, "n"),
        (b'{"prompt": "p", "n": "two"}', 422, "n"),
        (b'{"prompt": "p", "size": "999x999"}', 422, "size"),
        (b'{"prompt": "p", "quality": "ultra"}', 422, "quality"),
        (b'{"prompt": "p", "output_format": "gif"}', 422, "output_format"),
        (b'{"prompt": "p", "model": "dall-e-3"}', 422, "model"),
        (b'{"prompt": "p", "colour": "red"}', 422, "body"),
        (b"[]", 422, "body"),
        (b"", 422, "body"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(
    api: Stack, body: bytes, status: int, field: str | None
) -> None:
    with api.client() as client:
        key = mint(client)
        response = client.post(
            "/v1/images/generations",
            content=body,
            headers={**bearer(key), "content-type": "application/json"},
        )
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status
        if field is not None:
            assert problem["errors"][0]["field"] == field
            assert field in problem["detail"] or field == "body"
        # Refused input costs nothing.
        assert client.get("/v1/me", headers=bearer(key)).json()["credits"]["remaining"] == 10


def test_cookie_from_another_origin_is_refused_but_bearer_is_not(api: Stack) -> None:
    with api.client() as client:
        client.post("/authorize")
        evil = {"origin": "https://evil.example"}
        refused = client.post("/v1/images/generations", json={"prompt": "p"}, headers=evil)
        assert refused.status_code == 403
        assert refused.json()["code"] == "forbidden"
        same = client.post(
            "/v1/images/generations", json={"prompt": "p"}, headers={"origin": api.url}
        )
        assert same.status_code == 202
        key = mint(client)
        with api.client() as fresh:
            ok = fresh.post(
                "/v1/images/generations", json={"prompt": "p"}, headers={**bearer(key), **evil}
            )
        assert ok.status_code == 202


def test_openapi_document_is_served(api: Stack) -> None:
    with api.client() as client:
        schema = client.get("/schema/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/v1/images/generations" in paths
    assert "/v1/jobs/{job_id}" in paths
