"""Issue 11 in process: a foreign page cannot set or clear the key cookie (login CSRF), and a
request carrying two keys is refused."""

from __future__ import annotations

import re

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from entrypoints.http.auth import COOKIE_NAME
from tests.http.conftest import Fakes, bearer, mint

SUBMIT = "/v1/images/generations"
OWN = "http://testserver.local"  # the test client's origin
FOREIGN = "https://evil.example"
Client = TestClient  # type: ignore[type-arg]


# --- 3. login CSRF: every route that sets or clears the key cookie ------------------------


@pytest.mark.parametrize("path", ["/v1/keys", "/authorize"])
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": FOREIGN},
        {"Origin": "null"},
        {"Referer": f"{FOREIGN}/page"},  # no Origin: an older browser's form post
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_foreign_page_cannot_mint_into_the_visitors_cookie(
    client: Client, fakes: Fakes, path: str, headers: dict[str, str]
) -> None:
    client.cookies.set(COOKIE_NAME, "the-visitors-own-key")
    answer = client.post(path, headers=headers, follow_redirects=False)
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"
    assert "set-cookie" not in answer.headers
    assert fakes.limiter.hits == 0  # the visitor's mint budget is not spent either
    assert fakes.quota.balances == {}


def test_a_foreign_page_cannot_revoke_or_clear_the_visitors_key(client: Client) -> None:
    key = mint(client)
    for headers in ({"Origin": FOREIGN}, {"Referer": f"{FOREIGN}/"}):
        answer = client.delete("/v1/me", headers={**bearer(key), **headers})
        assert answer.status_code == 403
        assert "set-cookie" not in answer.headers
    assert client.get("/v1/me", headers=bearer(key)).status_code == 200


def test_the_own_origin_and_plain_clients_still_mint(client: Client) -> None:
    same_origin = client.post("/v1/keys", headers={"Origin": OWN, "Referer": f"{OWN}/"})
    assert same_origin.status_code == 201
    assert COOKIE_NAME in same_origin.headers["set-cookie"]
    client.cookies.clear()
    assert client.post("/v1/keys").status_code == 201  # the SDK, curl: no Origin, no Referer


def test_a_cookie_post_with_a_cross_site_referer_and_no_origin_is_refused(client: Client) -> None:
    key = mint(client)
    client.cookies.set(COOKIE_NAME, key)
    answer = client.post(SUBMIT, json={"prompt": "p"}, headers={"Referer": f"{FOREIGN}/x"})
    assert answer.status_code == 403
    own = client.post(SUBMIT, json={"prompt": "p"}, headers={"Referer": f"{OWN}/"})
    assert own.status_code == 202


def test_no_unsafe_route_sets_a_cookie_for_a_foreign_origin(client: Client) -> None:
    """The sibling check: whatever routes are added, none answers a foreign page with a cookie."""
    key = mint(client)
    app: Litestar = client.app  # type: ignore[assignment]
    for route in app.routes:
        for method in getattr(route, "methods", set()) - {"GET", "HEAD", "OPTIONS"}:
            path = re.sub(r"\{[^}]*\}", "x", route.path)
            client.cookies.set(COOKIE_NAME, key)
            answer = client.request(
                method,
                path,
                json={"prompt": "p"},
                headers={"Origin": FOREIGN},
                follow_redirects=False,
            )
            assert "set-cookie" not in answer.headers, (method, path, answer.status_code)


# --- 8. ambiguous credentials -------------------------------------------------------------


def test_two_authorization_headers_are_refused(client: Client) -> None:
    mine, other = mint(client), mint(client)
    answer = client.get(
        "/v1/me",
        headers=[("Authorization", f"Bearer {mine}"), ("Authorization", f"Bearer {other}")],
    )
    assert answer.status_code == 401
    assert answer.json()["code"] == "ambiguous_credentials"


def test_two_different_key_cookies_are_refused(client: Client) -> None:
    mine, other = mint(client), mint(client)
    cookie = f"{COOKIE_NAME}={mine}; {COOKIE_NAME}={other}"
    answer = client.get("/v1/me", headers={"Cookie": cookie})
    assert answer.status_code == 401
    assert answer.json()["code"] == "ambiguous_credentials"


def test_a_bearer_key_wins_over_a_different_cookie(client: Client) -> None:
    """The playground sends a pasted key beside the browser's cookie: the explicit one counts."""
    mine, other = mint(client), mint(client)
    client.cookies.set(COOKIE_NAME, other)
    described = client.get("/v1/me", headers=bearer(mine))
    assert described.status_code == 200
    assert mine.startswith(described.json()["start"])
