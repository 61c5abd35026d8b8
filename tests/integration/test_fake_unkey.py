"""The fake Unkey keeps to shared/UNKEY.md: if it drifted, the adapter tests would prove nothing.
Raw HTTP against the in-process fake."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_server import FakeUnkeyServer

pytest_plugins = ["tests.fakes.unkey_fixtures"]


class Api:
    def __init__(self, fake: FakeUnkeyServer) -> None:
        self.fake = fake
        self.http = httpx.Client(base_url=fake.base_url, timeout=5)
        self.auth = {"Authorization": f"Bearer {fake.root_key}"}

    def post(self, op: str, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.http.post(f"/v2/keys.{op}", json=body, headers=self.auth | (headers or {}))

    def data(self, op: str, body: Any) -> Any:
        response = self.post(op, body)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    def create(self, **fields: Any) -> dict[str, str]:
        return self.data("createKey", {"apiId": self.fake.api_id, "prefix": "ig", **fields})


@pytest.fixture
def api(fake_unkey: FakeUnkeyServer) -> Iterator[Api]:
    client = Api(fake_unkey)
    yield client
    client.http.close()


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["meta"]["requestId"].startswith("req_")
    error = payload["error"]
    assert {"title", "detail", "status", "type"} <= set(error) and error["status"] == status
    assert ("errors" in error) is (status == 400)
    return error


# --- transport ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 400), ({"Authorization": "Basic abc"}, 400), ({"Authorization": "Bearer nope"}, 401)],
)
def test_every_call_needs_the_bearer_root_key(api: Api, headers: dict[str, str], status: int):
    response = api.http.post("/v2/keys.verifyKey", json={"key": "ig_x"}, headers=headers)

    assert_error(response, status)


def test_a_success_is_wrapped_in_meta_and_data(api: Api):
    response = api.post("createKey", {"apiId": api.fake.api_id, "prefix": "ig"})

    payload = response.json()
    assert payload["meta"]["requestId"].startswith("req_")
    assert payload["data"]["keyId"].startswith("key_")
    assert payload["data"]["key"].startswith("ig_")


def test_verify_rejects_an_api_id(api: Api):
    key = api.create(credits={"remaining": 3})["key"]

    error = assert_error(api.post("verifyKey", {"key": key, "apiId": api.fake.api_id}), 400)

    assert error["errors"][0]["location"] == "body.apiId"


# --- keys.createKey -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "credits",
    [
        {"refill": {"interval": "daily", "amount": 5}},  # refill without remaining
        {"remaining": 5, "refill": {"interval": "monthly", "amount": 5}},  # no refillDay
        {"remaining": 5, "refill": {"interval": "weekly", "amount": 5}},
        {"remaining": 5, "refill": {"interval": "monthly", "amount": 5, "refillDay": 32}},
        {"remaining": -1},
        {"remaining": 5, "cost": 1},  # unknown field
    ],
)
def test_create_key_validates_credits(api: Api, credits: dict[str, Any]):
    response = api.post("createKey", {"apiId": api.fake.api_id, "credits": credits})

    assert_error(response, 400)


def test_create_key_answers_404_for_another_api(api: Api):
    assert_error(api.post("createKey", {"apiId": "api_other"}), 404)


def test_daily_refill_ignores_refill_day_and_only_a_hash_is_kept(api: Api):
    refill = {"interval": "daily", "amount": 5, "refillDay": 9}
    created = api.create(credits={"remaining": 5, "refill": refill})

    details = api.data("getKey", {"keyId": created["keyId"]})

    assert details["credits"] == {
        "remaining": 5,
        "refill": {"interval": "daily", "amount": 5},
    }
    assert created["key"].startswith(details["start"]) and details["start"] != created["key"]
    stored = api.fake.workspace.keys[created["keyId"]]
    assert created["key"] not in repr(stored)


def test_only_recoverable_keys_can_be_decrypted(api: Api):
    recoverable = api.create(recoverable=True)
    plain = api.create()

    shown = api.data("getKey", {"keyId": recoverable["keyId"], "decrypt": True})
    hidden = api.data("getKey", {"keyId": plain["keyId"], "decrypt": True})

    assert shown["plaintext"] == recoverable["key"]
    assert "plaintext" not in hidden


# --- keys.verifyKey -----------------------------------------------------------------------


def test_an_unknown_key_carries_only_valid_and_code(api: Api):
    assert api.data("verifyKey", {"key": "ig_unknown"}) == {"valid": False, "code": "NOT_FOUND"}


def test_verify_charges_one_by_default_and_refuses_without_taking(api: Api):
    key = api.create(credits={"remaining": 2})["key"]

    default = api.data("verifyKey", {"key": key})
    refused = api.data("verifyKey", {"key": key, "credits": {"cost": 5}})
    free = api.data("verifyKey", {"key": key, "credits": {"cost": 0}})

    assert (default["valid"], default["code"], default["credits"]) == (True, "VALID", 1)
    assert (refused["valid"], refused["code"], refused["credits"]) == (
        False,
        "USAGE_EXCEEDED",
        1,
    )
    assert (free["code"], free["credits"]) == ("VALID", 1)


def test_disabled_is_checked_before_expiry_and_credits(api: Api):
    key = api.create(enabled=False, expires=1, credits={"remaining": 0})["key"]

    assert api.data("verifyKey", {"key": key})["code"] == "DISABLED"


def test_expiry_follows_the_fakes_clock(api: Api):
    api.fake.set_clock(FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    expires = int(datetime(2026, 1, 2, tzinfo=UTC).timestamp() * 1000)
    key = api.create(expires=expires)["key"]

    before = api.data("verifyKey", {"key": key})["code"]
    api.fake.set_clock(FrozenClock(datetime(2026, 1, 2, tzinfo=UTC)))
    after = api.data("verifyKey", {"key": key})["code"]

    assert (before, after) == ("VALID", "EXPIRED")


# --- keys.updateCredits and keys.deleteKey ------------------------------------------------


def test_update_credits_rules(api: Api):
    key_id = api.create(credits={"remaining": 3, "refill": {"interval": "daily", "amount": 3}})[
        "keyId"
    ]

    no_value = api.post("updateCredits", {"keyId": key_id, "operation": "increment"})
    clamped = api.data("updateCredits", {"keyId": key_id, "operation": "decrement", "value": 9})
    unlimited = api.data("updateCredits", {"keyId": key_id, "operation": "set", "value": None})
    on_unlimited = api.post(
        "updateCredits", {"keyId": key_id, "operation": "increment", "value": 1}
    )
    unknown = api.post("updateCredits", {"keyId": "key_nope", "operation": "set", "value": 1})

    assert_error(no_value, 400)
    assert clamped["remaining"] == 0
    assert unlimited == {"remaining": None}  # and the refill is gone
    assert_error(on_unlimited, 400)
    assert_error(unknown, 404)


def test_a_deleted_key_is_not_found(api: Api):
    created = api.create(credits={"remaining": 3})

    assert api.data("deleteKey", {"keyId": created["keyId"]}) == {}

    assert api.data("verifyKey", {"key": created["key"]})["code"] == "NOT_FOUND"
    assert_error(api.post("getKey", {"keyId": created["keyId"]}), 404)
    assert_error(api.post("deleteKey", {"keyId": created["keyId"]}), 404)


# --- control endpoints --------------------------------------------------------------------


def test_faults_records_and_reset_over_http(api: Api):
    control = api.http
    control.post("/_fake/fault", json={"mode": "rate_limit", "retry_after": 7, "times": 1})

    limited = api.post("verifyKey", {"key": "ig_x"})
    after = api.post("verifyKey", {"key": "ig_x"})
    recorded = control.get("/_fake/requests").json()["requests"]
    control.post("/_fake/reset")

    assert_error(limited, 429)
    assert limited.headers["Retry-After"] == "7"
    assert after.status_code == 200  # `times` ran out
    assert [r["body"] for r in recorded] == [{"key": "ig_x"}, {"key": "ig_x"}]
    assert recorded[0]["headers"]["authorization"] == f"Bearer {api.fake.root_key}"
    assert control.get("/_fake/requests").json() == {"requests": []}


def test_the_clock_is_settable_over_http(api: Api):
    control = api.http
    control.post("/_fake/clock", json={"now": "2026-03-31T08:00:00+00:00"})
    refill = {"interval": "monthly", "amount": 4, "refillDay": 31}
    key = api.create(credits={"remaining": 4, "refill": refill})["key"]
    api.data("verifyKey", {"key": key, "credits": {"cost": 4}})

    control.post("/_fake/clock", json={"now": "2026-04-30T00:00:00+00:00"})
    refilled = api.data("verifyKey", {"key": key, "credits": {"cost": 0}})

    assert refilled["credits"] == 4
