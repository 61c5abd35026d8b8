"""The fake Unkey keeps to shared/UNKEY.md: if it drifted, the adapter tests would prove nothing.
Raw HTTP against the in-process fake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_client import RawUnkey, assert_error

pytest_plugins = ["tests.fakes.unkey_fixtures"]


@pytest.fixture
def api(raw_unkey: RawUnkey) -> RawUnkey:
    return raw_unkey


# --- transport ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 400), ({"Authorization": "Basic abc"}, 400), ({"Authorization": "Bearer nope"}, 401)],
)
def test_every_call_needs_the_bearer_root_key(api: RawUnkey, headers: dict[str, str], status: int):
    response = api.http.post("/v2/keys.verifyKey", json={"key": "ig_x"}, headers=headers)

    assert_error(response, status)


def test_a_success_is_wrapped_in_meta_and_data(api: RawUnkey):
    response = api.post("createKey", {"apiId": api.fake.api_id, "prefix": "ig"})

    payload = response.json()
    assert payload["meta"]["requestId"].startswith("req_")
    assert payload["data"]["keyId"].startswith("key_")
    assert payload["data"]["key"].startswith("ig_")


def test_verify_rejects_an_api_id(api: RawUnkey):
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
def test_create_key_validates_credits(api: RawUnkey, credits: dict[str, Any]):
    response = api.post("createKey", {"apiId": api.fake.api_id, "credits": credits})

    assert_error(response, 400)


def test_create_key_answers_404_for_another_api(api: RawUnkey):
    assert_error(api.post("createKey", {"apiId": "api_other"}), 404)


def test_daily_refill_ignores_refill_day_and_only_a_hash_is_kept(api: RawUnkey):
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


def test_only_recoverable_keys_can_be_decrypted(api: RawUnkey):
    recoverable = api.create(recoverable=True)
    plain = api.create()

    shown = api.data("getKey", {"keyId": recoverable["keyId"], "decrypt": True})
    hidden = api.data("getKey", {"keyId": plain["keyId"], "decrypt": True})

    assert shown["plaintext"] == recoverable["key"]
    assert "plaintext" not in hidden


# --- keys.verifyKey -----------------------------------------------------------------------


def test_an_unknown_key_carries_only_valid_and_code(api: RawUnkey):
    assert api.data("verifyKey", {"key": "ig_unknown"}) == {"valid": False, "code": "NOT_FOUND"}


def test_verify_charges_one_by_default_and_refuses_without_taking(api: RawUnkey):
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


def test_disabled_is_checked_before_expiry_and_credits(api: RawUnkey):
    key = api.create(enabled=False, expires=1, credits={"remaining": 0})["key"]

    assert api.data("verifyKey", {"key": key})["code"] == "DISABLED"


def test_expiry_follows_the_fakes_clock(api: RawUnkey):
    api.fake.set_clock(FrozenClock(datetime(2026, 1, 1, tzinfo=UTC)))
    expires = int(datetime(2026, 1, 2, tzinfo=UTC).timestamp() * 1000)
    key = api.create(expires=expires)["key"]

    before = api.data("verifyKey", {"key": key})["code"]
    api.fake.set_clock(FrozenClock(datetime(2026, 1, 2, tzinfo=UTC)))
    after = api.data("verifyKey", {"key": key})["code"]

    assert (before, after) == ("VALID", "EXPIRED")


# --- keys.updateCredits and keys.deleteKey ------------------------------------------------


def test_update_credits_rules(api: RawUnkey):
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


def test_a_deleted_key_is_not_found(api: RawUnkey):
    created = api.create(credits={"remaining": 3})

    assert api.data("deleteKey", {"keyId": created["keyId"]}) == {}

    assert api.data("verifyKey", {"key": created["key"]})["code"] == "NOT_FOUND"
    assert_error(api.post("getKey", {"keyId": created["keyId"]}), 404)
    assert_error(api.post("deleteKey", {"keyId": created["keyId"]}), 404)


# --- control endpoints --------------------------------------------------------------------


def test_faults_records_and_reset_over_http(api: RawUnkey):
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


def test_the_clock_is_settable_over_http(api: RawUnkey):
    control = api.http
    control.post("/_fake/clock", json={"now": "2026-03-31T08:00:00+00:00"})
    refill = {"interval": "monthly", "amount": 4, "refillDay": 31}
    key = api.create(credits={"remaining": 4, "refill": refill})["key"]
    api.data("verifyKey", {"key": key, "credits": {"cost": 4}})

    control.post("/_fake/clock", json={"now": "2026-04-30T00:00:00+00:00"})
    refilled = api.data("verifyKey", {"key": key, "credits": {"cost": 0}})

    assert refilled["credits"] == 4
