"""Issue 11 through the real server (uvicorn, its own HTTP parser): undecodable bodies, login
CSRF, two Authorization headers and the security headers, as a client's bytes arrive."""

from __future__ import annotations

import socket

import pytest

from tests.e2e.stack import Stack
from tests.e2e.test_abuse import me
from tests.e2e.test_flow import bearer, mint

pytestmark = pytest.mark.e2e
NESTED = b"[" * 10_000 + b"]" * 10_000


@pytest.fixture
def api(make_stack: type[Stack]) -> Stack:
    stack = make_stack({"MINT_LIMIT_PER_ADDRESS": "1000"})
    stack.start_api()
    return stack


def test_nested_json_is_a_400_with_no_traceback_and_nothing_charged(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        for path in ("/v1/images/generations", "/generate_image"):
            for body in (NESTED, b'{"prompt": "p", "n": ' + NESTED + b"}"):
                answer = client.post(
                    path, content=body, headers={**bearer(key), "content-type": "application/json"}
                )
                assert answer.status_code == 400, answer.text
                assert answer.json()["code"] == "malformed_json"
                assert answer.headers["x-content-type-options"] == "nosniff"
        assert me(client, key) == 10
    log = api.log("api")
    assert "Traceback" not in log and "RecursionError" not in log


def test_a_foreign_origin_cannot_mint_into_the_cookie_and_the_referer_case_too(api: Stack) -> None:
    with api.client() as client:
        key = mint(client)
        client.cookies.clear()
        for path in ("/v1/keys", "/authorize"):
            for headers in (
                {"Origin": "https://evil.example"},
                {"Referer": "https://evil.example/"},
            ):
                answer = client.post(
                    path,
                    headers={**headers, "Cookie": f"imagegate_key={key}"},
                    follow_redirects=False,
                )
                assert answer.status_code == 403, (path, headers, answer.text)
                assert "set-cookie" not in answer.headers
        referer_only = client.post(
            "/v1/images/generations",
            json={"prompt": "p"},
            headers={"Cookie": f"imagegate_key={key}", "Referer": "https://evil.example/x"},
        )
        assert referer_only.status_code == 403
        assert me(client, key) == 10


def test_two_authorization_field_lines_are_refused(api: Stack) -> None:
    with api.client() as client:
        mine, other = mint(client), mint(client)
    request = (
        b"GET /v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Authorization: Bearer " + mine.encode() + b"\r\n"
        b"Authorization: Bearer " + other.encode() + b"\r\nConnection: close\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", api.port), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]
    assert b"ambiguous_credentials" in answer


def test_behind_a_trusted_tls_proxy_the_public_origin_is_our_own(
    api: Stack, make_stack: type[Stack]
) -> None:
    public = {
        "Origin": "https://imagegate.example",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "imagegate.example",
    }
    with api.client() as client:  # no TRUSTED_PROXIES: a client's X-Forwarded-* is not believed
        assert client.post("/v1/keys", headers=public).status_code == 403
    proxied = make_stack({"TRUSTED_PROXIES": "127.0.0.1"})
    proxied.start_api()
    with proxied.client() as client:
        assert client.post("/v1/keys", headers=public).status_code == 201
        client.cookies.clear()
        foreign = {**public, "Origin": "https://evil.example"}
        assert client.post("/v1/keys", headers=foreign).status_code == 403
