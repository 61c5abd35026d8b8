"""Where the fake Unkey once disagreed with Unkey's published v2 spec: each corrected answer,
pinned. Raw HTTP against the in-process fake."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.unkey_client import RawUnkey, assert_error

pytest_plugins = ["tests.fakes.unkey_fixtures"]


def test_verify_and_get_key_name_the_identity_by_id(raw_unkey: RawUnkey):
    created = raw_unkey.create(externalId="customer_42", credits={"remaining": 3})

    verified = raw_unkey.data("verifyKey", {"key": created["key"]})
    details = raw_unkey.data("getKey", {"keyId": created["keyId"]})
    again = raw_unkey.create(externalId="customer_42")
    shared = raw_unkey.data("getKey", {"keyId": again["keyId"]})

    assert verified["identity"]["externalId"] == "customer_42"
    assert verified["identity"]["id"].startswith("id_")
    assert details["identity"] == verified["identity"]
    assert shared["identity"]["id"] == verified["identity"]["id"]  # one identity per customer


def test_the_rate_limit_answer_is_problem_json_with_retry_after(raw_unkey: RawUnkey):
    raw_unkey.fake.set_fault("rate_limit", retry_after=3)

    response = raw_unkey.post("verifyKey", {"key": "ig_x"})

    assert_error(response, 429)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "3"


@pytest.mark.parametrize(
    "optional",
    [
        {"byteLength": 32},
        {"roles": ["admin"]},
        {"permissions": ["images.create"]},
        {"ratelimits": [{"name": "requests", "limit": 10, "duration": 60000, "autoApply": True}]},
        {"name": "ci", "externalId": "team.a-1", "meta": {"tier": "pro"}, "recoverable": True},
        {"credits": {"remaining": None}},  # unlimited
    ],
    ids=["byteLength", "roles", "permissions", "ratelimits", "identity-and-meta", "unlimited"],
)
def test_create_key_accepts_the_specs_optional_fields(raw_unkey: RawUnkey, optional: dict):
    created = raw_unkey.create(**optional)

    assert raw_unkey.data("verifyKey", {"key": created["key"]})["valid"] is True


def test_byte_length_makes_longer_keys(raw_unkey: RawUnkey):
    short, long = raw_unkey.create(), raw_unkey.create(byteLength=64)

    assert len(long["key"]) > len(short["key"]) + 40


@pytest.mark.parametrize(
    "optional",
    [
        {"migrationId": "m_1"},
        {"tags": ["path=/v1/jobs"]},
        {"ratelimits": [{"name": "requests", "cost": 1}]},
        {"permissions": "images.create"},
    ],
    ids=["migrationId", "tags", "ratelimits", "permissions"],
)
def test_verify_accepts_the_specs_optional_fields(raw_unkey: RawUnkey, optional: dict):
    key = raw_unkey.create(permissions=["images.create"])["key"]

    verdict = raw_unkey.data("verifyKey", {"key": key, **optional})

    assert (verdict["valid"], verdict["code"]) == (True, "VALID")
    assert verdict["permissions"] == ["images.create"]


def test_a_permission_the_key_lacks_is_insufficient(raw_unkey: RawUnkey):
    key = raw_unkey.create(permissions=["images.read"])["key"]

    verdict = raw_unkey.data("verifyKey", {"key": key, "permissions": "images.create"})

    assert (verdict["valid"], verdict["code"]) == (False, "INSUFFICIENT_PERMISSIONS")


@pytest.mark.parametrize(
    ("op", "body", "location"),
    [
        ("keys.verifyKey", {"key": "ig_x", "apiId": "api_x"}, "body.apiId"),
        ("keys.verifyKey", {"key": "ig_" + "x" * 510}, "body.key"),  # maxLength 512
        ("keys.verifyKey", {"key": "ig_x", "credits": {}}, "body.credits.cost"),
        ("keys.createKey", {"apiId": "api_test_imagegate", "owner": "x"}, "body.owner"),
        (
            "keys.createKey",
            {"apiId": "api_test_imagegate", "credits": {}},
            "body.credits.remaining",
        ),
        ("keys.createKey", {"apiId": "api_test_imagegate", "byteLength": 8}, "body.byteLength"),
        ("keys.getKey", {"keyId": "key_x", "extra": True}, "body.extra"),
        ("keys.updateKey", {"keyId": "key_x", "plan": "pro"}, "body.plan"),
        ("apis.listKeys", {"apiId": "api_test_imagegate", "limit": 101}, "body.limit"),
    ],
)
def test_a_bad_body_is_400_with_the_specs_error_envelope(
    raw_unkey: RawUnkey, op: str, body: dict[str, Any], location: str
):
    error = assert_error(raw_unkey.post(op, body), 400)

    assert [item["location"] for item in error["errors"]] == [location]
