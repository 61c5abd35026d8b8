"""The fake Unkey's operator endpoints keep to the v2 spec: updateKey's partial update,
listKeys' pagination, rerollKey's grace. Raw HTTP against the in-process fake."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_client import RawUnkey, assert_error

pytest_plugins = ["tests.fakes.unkey_fixtures"]


def test_update_key_keeps_what_it_omits_and_clears_what_is_null(raw_unkey: RawUnkey):
    refill = {"interval": "daily", "amount": 5}
    key_id = raw_unkey.create(
        name="n", meta={"plan": "free"}, expires=4_000_000_000_000,
        credits={"remaining": 3, "refill": refill},
    )["keyId"]  # fmt: skip

    answer = raw_unkey.data("keys.updateKey", {"keyId": key_id, "name": None, "enabled": False})
    after_first = raw_unkey.data("getKey", {"keyId": key_id})
    raw_unkey.data("keys.updateKey", {"keyId": key_id, "credits": {"refill": None}})
    after_second = raw_unkey.data("getKey", {"keyId": key_id})
    raw_unkey.data("keys.updateKey", {"keyId": key_id, "credits": None, "expires": None})
    after_third = raw_unkey.data("getKey", {"keyId": key_id})

    assert answer == {}
    assert "name" not in after_first and after_first["enabled"] is False
    assert after_first["meta"] == {"plan": "free"} and after_first["credits"]["remaining"] == 3
    assert after_second["credits"] == {"remaining": 3}  # balance kept, refill gone
    assert after_third["credits"] == {"remaining": None} and "expires" not in after_third


def test_update_key_on_an_unknown_key_is_404(raw_unkey: RawUnkey):
    assert_error(raw_unkey.post("keys.updateKey", {"keyId": "key_nope", "enabled": False}), 404)


def test_list_keys_pages_by_cursor_and_filters_by_external_id(raw_unkey: RawUnkey):
    made = {raw_unkey.create(externalId="acme" if i % 2 else "other")["keyId"] for i in range(5)}
    body = {"apiId": raw_unkey.fake.api_id, "limit": 2}

    first = raw_unkey.post("apis.listKeys", body).json()
    second = raw_unkey.post("apis.listKeys", body | {"cursor": first["pagination"]["cursor"]})
    acme = raw_unkey.post("apis.listKeys", {"apiId": raw_unkey.fake.api_id, "externalId": "acme"})

    assert set(first) == {"meta", "data", "pagination"}
    assert first["pagination"]["hasMore"] is True and len(first["data"]) == 2
    rest = second.json()
    seen = [k["keyId"] for k in first["data"] + rest["data"]]
    assert len(seen) == len(set(seen)) == 4 and set(seen) < made
    assert {k["identity"]["externalId"] for k in acme.json()["data"]} == {"acme"}
    assert acme.json()["pagination"] == {"hasMore": False}
    assert len(acme.json()["data"]) == 2


def test_reroll_keeps_the_settings_and_ends_the_old_key_after_the_grace(raw_unkey: RawUnkey):
    clock = FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    raw_unkey.fake.set_clock(clock)
    old = raw_unkey.create(name="n", externalId="acme", credits={"remaining": 7})

    new = raw_unkey.data("keys.rerollKey", {"keyId": old["keyId"], "expiration": 60_000})
    during = raw_unkey.data("verifyKey", {"key": old["key"], "credits": {"cost": 0}})
    clock.advance(seconds=60)
    after = raw_unkey.data("verifyKey", {"key": old["key"], "credits": {"cost": 0}})
    details = raw_unkey.data("getKey", {"keyId": new["keyId"]})

    assert new["key"].startswith("ig_") and new["keyId"] != old["keyId"]
    assert during["code"] == "VALID"
    assert after == {"valid": False, "code": "NOT_FOUND"}
    assert_error(raw_unkey.post("getKey", {"keyId": old["keyId"]}), 404)
    assert (details["name"], details["credits"]["remaining"]) == ("n", 7)
    assert details["identity"]["externalId"] == "acme"


def test_reroll_of_an_unknown_key_is_404(raw_unkey: RawUnkey):
    assert_error(raw_unkey.post("keys.rerollKey", {"keyId": "key_nope", "expiration": 0}), 404)
