"""UnkeyKeyAdmin against the fake Unkey over loopback HTTP: the exact v2 requests it sends
(what the KeyAdmin contract cannot see), and inputs refused before Unkey is asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.unkey_http import AsyncUnkey
from adapters.unkey_key_admin import UnkeyKeyAdmin
from domain.errors import Conflict, InvalidRequest
from domain.models import Plan, Refill, RefillInterval
from domain.operators import CreditOperation, KeyPatch, KeySpec
from tests.fakes.unkey_server import FakeUnkeyServer

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

FREE = Plan(credits=10, refill=Refill(RefillInterval.DAILY, 10), name="free")
TOPUP = Plan(credits=50, refill=None, name="topup")


@pytest.fixture
async def admin(fake_unkey: FakeUnkeyServer) -> AsyncIterator[UnkeyKeyAdmin]:
    connection = AsyncUnkey(base_url=fake_unkey.base_url, root_key=fake_unkey.root_key, timeout=5)
    yield UnkeyKeyAdmin(connection, api_id=fake_unkey.api_id)
    await connection.aclose()


def bodies(fake: FakeUnkeyServer, path: str) -> list[dict[str, Any]]:
    return [request["body"] for request in fake.requests(path)]


async def test_create_sends_the_plan_in_meta_and_the_override_as_remaining(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    expires = datetime(2026, 6, 1, tzinfo=UTC)
    spec = KeySpec(
        FREE, name="ci", external_id="acme", meta={"a": 1}, expires_at=expires, credits=3
    )

    await admin.create(spec)

    [body] = bodies(fake_unkey, "/v2/keys.createKey")
    assert body == {
        "apiId": fake_unkey.api_id,
        "prefix": "ig",
        "credits": {"remaining": 3, "refill": {"interval": "daily", "amount": 10}},
        "recoverable": False,
        "meta": {"a": 1, "plan": "free"},
        "name": "ci",
        "externalId": "acme",
        "expires": int(expires.timestamp() * 1000),
    }


async def test_a_plan_change_sends_the_new_refill_and_leaves_the_balance_out(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    issued, _ = await admin.create(KeySpec(FREE, meta={"a": 1}))

    await admin.update(issued.key_id, KeyPatch(plan=TOPUP, enabled=False))

    [body] = bodies(fake_unkey, "/v2/keys.updateKey")
    assert body == {
        "keyId": issued.key_id,
        "enabled": False,
        "meta": {"a": 1, "plan": "topup"},
        "credits": {"refill": None},
    }


async def test_reroll_sends_the_grace_in_milliseconds(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    issued, _ = await admin.create(KeySpec(FREE))

    await admin.reroll(issued.key_id, 90)

    assert bodies(fake_unkey, "/v2/keys.rerollKey") == [
        {"keyId": issued.key_id, "expiration": 90_000}
    ]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (KeySpec(FREE, meta={"plan": "pro"}), "meta"),
        (KeySpec(FREE, external_id="has space"), "external_id"),
        (KeySpec(FREE, name=""), "name"),
        (KeySpec(FREE, credits=-1), "credits"),
        (KeySpec(FREE, expires_at=datetime(2200, 1, 1, tzinfo=UTC)), "expires_at"),
    ],
)
async def test_what_unkeys_schema_refuses_is_refused_before_asking(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin, spec: KeySpec, field: str
):
    with pytest.raises(InvalidRequest) as refused:
        await admin.create(spec)

    assert refused.value.field == field
    assert fake_unkey.requests() == []


async def test_a_list_limit_outside_unkeys_range_is_refused(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    with pytest.raises(InvalidRequest):
        await admin.list(plan=None, external_id=None, cursor=None, limit=101)

    assert fake_unkey.requests() == []


async def test_an_unlimited_key_has_no_balance_to_increment(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    key_id = fake_unkey.workspace.create_key({"apiId": fake_unkey.api_id})["keyId"]

    with pytest.raises(Conflict):
        await admin.update_credits(key_id, CreditOperation.INCREMENT, 1)

    assert fake_unkey.requests("/v2/keys.updateCredits") == []


async def test_a_sparse_plan_filter_answers_a_short_page_with_a_cursor(
    fake_unkey: FakeUnkeyServer, admin: UnkeyKeyAdmin
):
    for _ in range(30):
        await admin.create(KeySpec(FREE))

    page, cursor = await admin.list(plan="topup", external_id=None, cursor=None, limit=5)

    assert page == [] and cursor is not None  # five Unkey pages of 5, none matching
    assert len(bodies(fake_unkey, "/v2/apis.listKeys")) == 5
