"""Issue 11 in process: undecodable bodies, replays for a revoked key, and values that match
only loosely (a trailing newline, another script's digits)."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.http.route_uses import requested_wait
from entrypoints.log_context import accept_request_id
from tests.http.conftest import ADMIN_TOKEN, Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
Client = TestClient  # type: ignore[type-arg]
NESTED = b"[" * 10_000 + b"]" * 10_000


# --- 4. bodies that cannot be decoded -----------------------------------------------------


def json_routes(app: Litestar) -> list[tuple[str, str]]:
    """Every route whose handler takes a `data` body."""
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if "data" in handler.parsed_fn_signature.parameters:
                for method in handler.http_methods:
                    found.append((method, route.path))
    return found


@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        b'{"prompt": "p", "n": ' + NESTED + b"}",
        b'{"prompt": ' + NESTED + b"}",
        b'{"unknown": ' + NESTED + b"}",
        b'{"prompt": "\xff\xfe"}',
    ],
    ids=["array", "in-a-typed-field", "in-a-string-field", "in-an-unknown-field", "bad-utf8"],
)
def test_an_undecodable_body_is_a_400_on_every_json_route(
    operated_client: Client, fakes: Fakes, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    client = operated_client
    key = mint(client)
    routes = json_routes(client.app)  # type: ignore[arg-type]
    assert ("POST", SUBMIT) in routes
    assert any(path.startswith("/v1/admin/") for _, path in routes)
    for method, path in routes:
        credential = ADMIN_TOKEN if path.startswith("/v1/admin/") else key
        answer = client.request(
            method,
            path.replace("{key_id:str}", "key_unknown"),
            content=body,
            headers={**bearer(credential), "content-type": "application/json"},
        )
        assert answer.status_code == 400, (path, answer.text)
        assert answer.json()["code"] == "malformed_json"
    assert balance_untouched(fakes)
    assert not [record for record in caplog.records if record.exc_info]


def balance_untouched(fakes: Fakes) -> bool:
    return all(value == 10 for value in fakes.quota.balances.values()) and not fakes.jobs.jobs


# --- 6. a revoked key gets no replay ------------------------------------------------------


def test_a_revoked_key_gets_no_idempotent_replay(client: Client) -> None:
    key = mint(client)
    headers = {**bearer(key), "Idempotency-Key": "order-1"}
    assert client.post(SUBMIT, json={"prompt": "p"}, headers=headers).status_code == 202
    assert client.delete("/v1/me", headers=bearer(key)).status_code == 204
    replay = client.post(SUBMIT, json={"prompt": "p"}, headers=headers)
    assert replay.status_code == 401
    assert "idempotent-replayed" not in replay.headers
    other_body = client.post(SUBMIT, json={"prompt": "q"}, headers=headers)
    assert other_body.status_code == 401  # not even "this key was used" leaks


# --- 7. full, ASCII-only matches ----------------------------------------------------------


@pytest.mark.parametrize(
    "field",
    [
        {"size": "1024x1024\n"},
        {"size": "\uff11\uff10\uff12\uff14x\uff11\uff10\uff12\uff14"},
        {"size": "\u0661\u0660\u0662\u0664x\u0661\u0660\u0662\u0664"},
        {"model": "placeholder\n"},
        {"model": "gpt-image-2\n"},
    ],
)
def test_a_value_that_only_loosely_matches_is_refused(
    client: Client, fakes: Fakes, field: dict[str, str]
) -> None:
    key = mint(client)
    answer = client.post(SUBMIT, json={"prompt": "p", **field}, headers=bearer(key))
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"] == next(iter(field))
    assert balance_untouched(fakes)


def test_request_ids_and_prefer_waits_match_whole_and_in_ascii() -> None:
    assert accept_request_id("req-1") == "req-1"
    assert accept_request_id("req-1\n") != "req-1\n"
    assert requested_wait("wait=5") == "5"
    assert requested_wait("respond-async, wait=2.5") == "2.5"
    assert requested_wait("wait=\u0665") is None
    assert requested_wait("wait=\uff15") is None
