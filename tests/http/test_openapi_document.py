"""The OpenAPI document tells the truth about the server (issue 17), in process: exact
request schemas, the key schemes, headers, problem JSON for every error, and `Allow`."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from adapters.redis_jobs_codec import encode_cursor
from domain.models import new_job_id
from entrypoints.http.openapi_docs import documented
from entrypoints.http.schemas import CURSOR_PATTERN
from tests.http.conftest import SETTINGS, Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
Client = TestClient  # type: ignore[type-arg]
PUBLIC = {("get", "/healthz"), ("get", "/readyz"), ("post", "/v1/keys"), ("post", "/authorize")}


def document(client: Client) -> dict[str, Any]:
    answer = client.get("/schema/openapi.json")
    assert answer.status_code == 200
    return dict(answer.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def test_an_empty_model_is_a_422_naming_model_and_charges_nothing(
    client: Client, fakes: Fakes
) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": "p", "model": ""}, headers=bearer(key))
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == "model"
    assert list(fakes.quota.balances.values()) == [10]
    assert fakes.jobs.jobs == {}


def test_a_whitespace_prompt_is_a_422_naming_prompt(client: Client) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": " \n\t"}, headers=bearer(key))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == "prompt"


def test_an_integral_float_is_an_integer_as_json_schema_says(client: Client, fakes: Fakes) -> None:
    key = mint(client)
    accepted = client.post(SUBMIT, json={"prompt": "p", "n": 2.0}, headers=bearer(key))
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["request"]["n"] == 2
    refused = client.post(SUBMIT, json={"prompt": "p", "n": 2.5}, headers=bearer(key))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "n"


def test_a_cursor_of_another_shape_is_a_422_and_a_handed_out_one_passes(client: Client) -> None:
    key = mint(client)
    # What the Redis store hands out: "<13-digit ms>:<job id>", base64url.
    cursor = encode_cursor(f"{1_764_000_000_000:013d}:{new_job_id()}")
    assert re.fullmatch(CURSOR_PATTERN, cursor)
    answer = client.get("/v1/jobs", params={"cursor": cursor}, headers=bearer(key))
    assert answer.status_code == 200, answer.text
    for bad in ("nope", cursor + "A", "Ojo", cursor[:-1] + "B"):
        answer = client.get("/v1/jobs", params={"cursor": bad}, headers=bearer(key))
        assert answer.status_code == 422, bad
        assert answer.json()["errors"][0]["field"] == "cursor"


def test_readiness_failure_is_problem_json_with_the_checks(client: Client, fakes: Fakes) -> None:
    fakes.queue.down = True
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == "unready"
    assert answer.json()["checks"]["broker"].startswith("unavailable")


def test_options_and_405_allow_the_same_methods_as_the_document(client: Client) -> None:
    doc = document(client)
    for path in ("/v1/me", "/me", "/v1/jobs"):
        declared = {m.upper() for m in doc["paths"][path]} | {"OPTIONS"}
        allow = client.options(path).headers["allow"]
        assert {m.strip() for m in allow.split(",")} == declared, path
    refused = client.put("/v1/me")
    assert {m.strip() for m in refused.headers["allow"].split(",")} == {"GET", "DELETE", "OPTIONS"}


def test_the_submit_body_is_exact(client: Client) -> None:
    body = document(client)["components"]["schemas"]["GenerationBody"]
    assert body["additionalProperties"] is False
    model = body["properties"]["model"]["oneOf"]
    assert {"type": "string", "enum": [SETTINGS.image_model]} in model
    assert "1024x1024" in body["properties"]["size"]["enum"]
    assert body["properties"]["n"]["type"] == "integer"


def test_security_is_declared_on_every_authenticated_operation_and_only_there(
    client: Client,
) -> None:
    doc = document(client)
    assert set(doc["components"]["securitySchemes"]) == {"bearer", "keyCookie", "adminToken"}
    operated = 0
    for method, path, op in operations(doc):
        if (method, path) in PUBLIC:
            assert "security" not in op, (method, path)
        elif path.startswith("/v1/admin/"):  # the operator's token, never a caller's key
            assert op["security"] == [{"adminToken": []}], (method, path)
            assert "401" in op["responses"], (method, path)
            operated += 1
        else:
            assert op["security"] == [{"bearer": []}, {"keyCookie": []}], (method, path)
            assert "401" in op["responses"], (method, path)
    assert operated >= 8


def test_every_error_is_problem_json_and_carries_the_request_id(client: Client) -> None:
    for method, path, op in operations(document(client)):
        assert op.get("description"), (method, path)
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "header"}
        assert "X-Request-ID" in names
        for status, response in op["responses"].items():
            assert response["headers"]["X-Request-ID"]["required"] is True
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (path, status)
                assert response["content"]["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }


def test_the_headers_the_server_reads_and_sends_are_declared(client: Client) -> None:
    paths = document(client)["paths"]

    def header_params(op: dict[str, Any]) -> set[str]:
        return {p["name"] for p in op["parameters"] if p["in"] == "header"}

    submit = paths[SUBMIT]["post"]
    assert "Idempotency-Key" in header_params(submit)
    assert {
        "Location",
        "Retry-After",
        "RateLimit",
        "RateLimit-Policy",
        "Idempotent-Replayed",
    } <= set(submit["responses"]["202"]["headers"])
    assert {"Retry-After", "RateLimit"} <= set(submit["responses"]["429"]["headers"])
    assert "WWW-Authenticate" in submit["responses"]["401"]["headers"]
    job = paths["/v1/jobs/{job_id}"]["get"]
    assert "Prefer" in header_params(job)
    assert "Preference-Applied" in job["responses"]["200"]["headers"]
    image = paths["/v1/jobs/{job_id}/images/{index}"]["get"]
    assert "If-None-Match" in header_params(image)
    assert set(image["responses"]["200"]["content"]) == {"image/png", "image/jpeg", "image/webp"}
    assert "ETag" in image["responses"]["304"]["headers"]
    assert "Set-Cookie" in paths["/v1/keys"]["post"]["responses"]["201"]["headers"]
    assert "Set-Cookie" in paths["/v1/me"]["delete"]["responses"]["204"]["headers"]


def test_a_route_cannot_document_a_header_nobody_declared() -> None:
    with pytest.raises(ValueError, match="X-Unknown"):
        documented(auth=True, request_headers=("X-Unknown",))


def test_a_route_names_only_declared_security_schemes() -> None:
    assert documented(auth=("bearer",))["security"] == [{"bearer": []}]
    assert 401 in documented(auth=("bearer",))["responses"]
    assert documented(auth=False)["security"] is None
    with pytest.raises(ValueError, match="resellerToken"):
        documented(auth=("resellerToken",))


def test_a_stream_resumed_after_its_end_sends_no_undocumented_event(client: Client) -> None:
    # The document's events are all `event: job` with the job as data; a resumed stream whose
    # job had already ended sent an empty `data:` line, an unnamed "message" event.
    key = mint(client)
    job_id = client.post(SUBMIT, json={"prompt": "p"}, headers=bearer(key)).json()["id"]
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=bearer(key)).status_code == 200
    resumed = {**bearer(key), "Last-Event-ID": "999999"}
    answer = client.get(f"/v1/jobs/{job_id}/events", headers=resumed)
    assert answer.status_code == 200
    assert answer.text.startswith(": end")
    assert not [line for line in answer.text.splitlines() if line.startswith("data:")]


def test_every_operation_has_examples_of_what_it_takes_and_answers(client: Client) -> None:
    for method, path, op in operations(document(client)):
        where = (method, path)
        for param in op.get("parameters", []):
            if param["in"] == "path":
                assert "example" in param, (where, param["name"])
        for media in op.get("requestBody", {}).get("content", {}).values():
            assert "example" in media, where
        for status, response in op["responses"].items():
            for kind, media in response.get("content", {}).items():
                if int(status) < 300 and not kind.startswith("image/"):
                    assert "example" in media, (where, status, kind)
            for name, header in response["headers"].items():
                assert "example" in header, (where, status, name)


def test_every_response_declares_the_security_headers_it_carries(client: Client) -> None:
    always = {"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"}
    always |= {"Referrer-Policy", "X-Request-ID"}
    for method, path, op in operations(document(client)):
        for status, response in op["responses"].items():
            required = {n for n, h in response["headers"].items() if h["required"]}
            assert always <= required, (method, path, status)
    for answer in (client.get("/healthz"), client.get("/v1/me"), client.get("/v1/jobs/nope")):
        assert {name.lower() for name in always} <= set(answer.headers.keys())


def test_cookie_guarded_operations_declare_the_browser_headers_they_read(client: Client) -> None:
    paths = document(client)["paths"]

    def header_params(op: dict[str, Any]) -> set[str]:
        return {p["name"] for p in op["parameters"] if p["in"] == "header"}

    browser = {"Origin", "Referer", "Sec-Fetch-Site"}
    for method, path in (("post", "/v1/keys"), ("post", SUBMIT), ("delete", "/v1/me")):
        assert browser <= header_params(paths[path][method]), (method, path)
    assert not browser & header_params(paths["/v1/me"]["get"])  # a read is not refused
    refused = client.post("/v1/keys", headers={"Origin": "https://elsewhere.example"})
    assert refused.status_code == 403


def test_every_operation_that_holds_a_key_slot_documents_its_429(client: Client) -> None:
    """Taking the caller (by name, or through a route bundle's CallerCheck) holds one of the
    key's concurrent-request slots, refused with 429 `too_many_requests` past the cap."""
    doc = document(client)
    holding = set()
    for route in client.app.routes:
        for handler in getattr(route, "route_handlers", ()):
            names = set(handler.parsed_fn_signature.parameters)
            if names & {"caller", "job_reads", "job_streams"}:
                path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
                holding |= {(m.lower(), path) for m in handler.http_methods}
    assert ("get", "/v1/jobs/{job_id}") in holding and ("get", "/v1/me/usage") in holding
    missing = sorted((m, p) for m, p in holding if "429" not in doc["paths"][p][m]["responses"])
    assert missing == []
