"""The Operators section at the HTTP edge, in process on the fakes: priced submits and quotes
from a plans file, self-serve off, and disabled or expired keys told apart."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from litestar.testing import TestClient

from domain.models import KeyStatus
from domain.plans import parse_plans
from entrypoints.http.app import create_app
from tests.fakes.clock import FrozenClock
from tests.http.conftest import SETTINGS, Fakes, bearer, mint

PRICING = """
[pricing]
quality = { low = 1, medium = 2, high = 4, auto = 2 }
size = { "1024x1024" = 1, "1536x1024" = 1.5, "1024x1536" = 1.5, auto = 1.5 }
"""
SELF_SERVE = "[plans.free]\ncredits = 20\nself_serve = true\n[plans.pro]\ncredits = 500\n"
PRICED = {"prompt": "a lighthouse", "n": 2, "quality": "high", "size": "1536x1024"}


def app_client(fakes: Fakes, plans: str) -> TestClient:  # type: ignore[type-arg]
    settings = replace(SETTINGS, plans=parse_plans(plans + PRICING))
    app = create_app(settings, container_factory=fakes.container, clock=FrozenClock())
    return TestClient(app)


@pytest.fixture
def priced(fakes: Fakes) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with app_client(fakes, SELF_SERVE) as client:
        yield client


def test_a_priced_submit_charges_the_plans_price_and_says_so(
    priced: TestClient,  # type: ignore[type-arg]
    fakes: Fakes,
):
    key = mint(priced)

    answer = priced.post("/v1/images/generations", json=PRICED, headers=bearer(key))

    assert answer.status_code == 202
    assert answer.json()["credits"] == {"charged": 12, "refunded": 0}  # 2 x ceil(4 x 1.5)
    assert list(fakes.quota.balances.values()) == [8]


def test_a_quote_prices_the_same_and_spends_nothing(
    priced: TestClient,  # type: ignore[type-arg]
    fakes: Fakes,
):
    key = mint(priced)

    answer = priced.post("/v1/quotes", json=PRICED, headers=bearer(key))
    dear = priced.post("/v1/quotes", json={**PRICED, "n": 4}, headers=bearer(key))

    assert answer.status_code == 200
    assert answer.json() == {"credits": 12, "remaining": 20, "affordable": True}
    assert dear.json() == {"credits": 24, "remaining": 20, "affordable": False}
    assert list(fakes.quota.balances.values()) == [20]


def test_an_unaffordable_submit_is_429_and_charges_nothing(
    priced: TestClient,  # type: ignore[type-arg]
    fakes: Fakes,
):
    key = mint(priced)

    answer = priced.post("/v1/images/generations", json={**PRICED, "n": 4}, headers=bearer(key))

    assert answer.status_code == 429
    assert answer.json()["code"] == "quota_exceeded"
    assert list(fakes.quota.balances.values()) == [20] and fakes.jobs.jobs == {}


def test_a_quote_of_a_bad_body_names_the_field(priced: TestClient):  # type: ignore[type-arg]
    key = mint(priced)

    answer = priced.post("/v1/quotes", json={**PRICED, "n": 0}, headers=bearer(key))

    assert answer.status_code == 422
    assert "n" in [error["field"] for error in answer.json()["errors"]]


def test_without_a_self_serve_plan_minting_is_403(fakes: Fakes):
    with app_client(fakes, "[plans.pro]\ncredits = 500\n") as client:
        keys = client.post("/v1/keys")
        authorize = client.post("/authorize", follow_redirects=False)

    assert (keys.status_code, keys.json()["code"]) == (403, "self_serve_disabled")
    assert (authorize.status_code, authorize.json()["code"]) == (403, "self_serve_disabled")
    assert fakes.quota.keys == {}


@pytest.mark.parametrize(
    ("status", "code"), [(KeyStatus.DISABLED, "key_disabled"), (KeyStatus.EXPIRED, "key_expired")]
)
@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v1/me"), ("GET", "/v1/jobs"), ("POST", "/v1/images/generations"),
     ("POST", "/v1/quotes"), ("DELETE", "/v1/me")],
)  # fmt: skip
def test_a_disabled_or_expired_key_is_401_with_its_reason_everywhere(
    priced: TestClient,  # type: ignore[type-arg]
    fakes: Fakes,
    status: KeyStatus,
    code: str,
    method: str,
    path: str,
):
    key = mint(priced)
    fakes.quota.refused[fakes.quota.keys[key]] = status
    body = PRICED if method == "POST" else None

    answer = priced.request(method, path, json=body, headers=bearer(key))

    assert (answer.status_code, answer.json()["code"]) == (401, code)
    assert list(fakes.quota.balances.values()) == [20]
