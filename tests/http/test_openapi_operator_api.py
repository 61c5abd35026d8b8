"""The operator API's document states every bound the server enforces, and the server takes
exactly what the document allows (issue 17): a 422 naming the field for the rest, nothing
changed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.http.conftest import ADMIN_TOKEN

Client = TestClient  # type: ignore[type-arg]
AS_OPERATOR = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
KEYS = "/v1/admin/keys"


@pytest.fixture
def operator(operated_client: Client) -> Client:
    return operated_client


def schemas(client: Client) -> dict[str, Any]:
    return dict(client.get("/schema/openapi.json").json()["components"]["schemas"])


def branch(prop: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(b for b in prop["oneOf"] if b["type"] == kind)


def new_key(client: Client) -> str:
    answer = client.post(KEYS, json={"plan": "default"}, headers=AS_OPERATOR)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["key_id"])


def refused_field(answer: Any) -> str:
    assert answer.status_code == 422, answer.text
    return str(answer.json()["errors"][0]["field"])


def test_optional_fields_state_their_bounds_on_the_branch_they_bound(operator: Client) -> None:
    create = schemas(operator)["KeyCreateBody"]["properties"]
    assert branch(create["credits"], "integer") == {
        "type": "integer",
        "minimum": 0,  # Litestar left a bound of zero out
        "maximum": 1_000_000_000,
    }
    name = branch(create["name"], "string")
    assert (name["minLength"], name["maxLength"], name["pattern"]) == (1, 200, r"\S")
    assert "maxLength" not in create["name"]  # beside the oneOf it said nothing to generators
    assert branch(create["external_id"], "string")["pattern"] == "^[A-Za-z0-9_.:@|-]{1,255}$"
    meta = branch(create["meta"], "object")
    assert meta["propertyNames"] == {"not": {"const": "plan"}}
    assert "4096 bytes" in meta["description"]
    assert "future" in create["expires_at"]["description"]
    patch = schemas(operator)["KeyPatchBody"]["properties"]
    assert branch(patch["name"], "string")["pattern"] == r"\S"


def test_whole_numbers_are_integers_in_the_document_and_integral_floats_pass(
    operator: Client,
) -> None:
    documented = schemas(operator)
    assert documented["CreditsBody"]["properties"]["value"]["type"] == "integer"
    assert documented["RerollBody"]["properties"]["grace_seconds"]["type"] == "integer"
    key_id = new_key(operator)
    credits = f"{KEYS}/{key_id}/credits"
    answer = operator.post(credits, json={"operation": "set", "value": 137.0}, headers=AS_OPERATOR)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"remaining": 137}
    half = operator.post(credits, json={"operation": "set", "value": 1.5}, headers=AS_OPERATOR)
    assert refused_field(half) == "value"
    created = operator.post(KEYS, json={"plan": "default", "credits": 5.0}, headers=AS_OPERATOR)
    assert created.status_code == 201, created.text
    assert created.json()["credits"]["remaining"] == 5
    rerolled = operator.post(
        f"{KEYS}/{key_id}/reroll", json={"grace_seconds": 60.0}, headers=AS_OPERATOR
    )
    assert rerolled.status_code == 201, rerolled.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"enabled": 0}, "enabled"),  # was taken as false
        ({"name": "   "}, "name"),
        ({"name": 5}, "name"),
    ],
)
def test_a_patch_takes_no_coerced_or_blank_value(
    operator: Client, body: dict[str, Any], field: str
) -> None:
    key_id = new_key(operator)
    answer = operator.patch(f"{KEYS}/{key_id}", json=body, headers=AS_OPERATOR)
    assert refused_field(answer) == field
    shown = operator.get(f"{KEYS}/{key_id}", headers=AS_OPERATOR).json()
    assert shown["enabled"] is True and shown["name"] is None


def test_a_credit_change_takes_no_number_in_a_string(operator: Client) -> None:
    key_id = new_key(operator)
    before = operator.get(f"{KEYS}/{key_id}", headers=AS_OPERATOR).json()["credits"]
    answer = operator.post(
        f"{KEYS}/{key_id}/credits", json={"operation": "set", "value": "5"}, headers=AS_OPERATOR
    )
    assert refused_field(answer) == "value"
    after = operator.get(f"{KEYS}/{key_id}", headers=AS_OPERATOR).json()["credits"]
    assert after == before


def test_the_external_id_filter_states_its_format(operator: Client) -> None:
    listing = operator.get("/schema/openapi.json").json()["paths"][KEYS]["get"]
    param = next(p for p in listing["parameters"] if p["name"] == "external_id")
    assert param["schema"]["pattern"] == "^([A-Za-z0-9_.:@|-]{1,255})?$"
    assert operator.get(KEYS, params={"external_id": ""}, headers=AS_OPERATOR).status_code == 200
    answer = operator.get(KEYS, params={"external_id": "\x89"}, headers=AS_OPERATOR)
    assert refused_field(answer) == "external_id"
