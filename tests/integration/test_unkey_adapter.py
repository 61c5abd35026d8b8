"""UnkeyQuotaProvider against the fake Unkey over loopback HTTP: the exact v2 requests it
sends, and how it fails closed."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from adapters.unkey_quota import UnkeyQuotaProvider
from domain.errors import QuotaUnavailable
from domain.models import Charge, KeyStatus, Plan, Refill, RefillInterval
from tests.fakes.clock import FrozenClock
from tests.fakes.unkey_server import FakeUnkeyServer

if TYPE_CHECKING:
    from tests.fakes.unkey_fixtures import FakeUnkeyProcess

pytestmark = pytest.mark.anyio
pytest_plugins = ["tests.fakes.unkey_fixtures"]

VERIFY, GET_KEY = "/v2/keys.verifyKey", "/v2/keys.getKey"
DAILY = Plan.build(10, RefillInterval.DAILY, 10)
TIMEOUT = 0.5

MakeProvider = Callable[..., UnkeyQuotaProvider]


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 1, 15, 12, tzinfo=UTC))


@pytest.fixture
async def make_provider(
    fake_unkey: FakeUnkeyServer, clock: FrozenClock
) -> AsyncIterator[MakeProvider]:
    made: list[UnkeyQuotaProvider] = []

    def make(**overrides: Any) -> UnkeyQuotaProvider:
        options: dict[str, Any] = {
            "base_url": fake_unkey.base_url,
            "root_key": fake_unkey.root_key,
            "api_id": fake_unkey.api_id,
            "timeout": TIMEOUT,
            "clock": clock,
        }
        made.append(UnkeyQuotaProvider(**(options | overrides)))
        return made[-1]

    yield make
    for provider in made:
        await provider.aclose()


class CountingTransport(httpx.AsyncBaseTransport):
    """A real transport that counts attempts and can refuse the first `refuse` connections."""

    def __init__(self, refuse: int = 0) -> None:
        self.inner, self.refuse, self.attempts = httpx.AsyncHTTPTransport(), refuse, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts <= self.refuse:
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


# --- request shapes -----------------------------------------------------------------------


async def test_verify_sends_the_v2_body_with_the_root_key_and_no_api_id(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    provider = make_provider()
    issued = await provider.mint(DAILY)

    await provider.charge(issued.key, 2)

    [verify] = fake_unkey.requests(VERIFY)
    assert verify["body"] == {"key": issued.key, "credits": {"cost": 2}}
    assert verify["headers"]["authorization"] == f"Bearer {fake_unkey.root_key}"
    assert all(r["path"].startswith("/v2/keys.") for r in fake_unkey.requests())


@pytest.mark.parametrize(
    ("plan", "credits"),
    [
        (DAILY, {"remaining": 10, "refill": {"interval": "daily", "amount": 10}}),
        (
            Plan.build(3, RefillInterval.MONTHLY, 30, day=31),
            {"remaining": 3, "refill": {"interval": "monthly", "amount": 30, "refillDay": 31}},
        ),
        (Plan.build(5, RefillInterval.NONE, 0), {"remaining": 5}),
    ],
    ids=["daily", "monthly", "none"],
)
async def test_create_key_sends_the_plan_as_v2_credits(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider, plan: Plan, credits: dict[str, Any]
):
    await make_provider().mint(plan)

    [create] = fake_unkey.requests("/v2/keys.createKey")
    assert create["body"] == {
        "apiId": fake_unkey.api_id,
        "prefix": "ig",
        "credits": credits,
        "recoverable": False,
        "meta": {"plan": plan.name},  # a self-serve key is listed under its plan, as an operator's
    }


async def test_recoverable_keys_are_asked_for_when_configured(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    await make_provider(recoverable=True).mint(DAILY)

    assert fake_unkey.requests("/v2/keys.createKey")[0]["body"]["recoverable"] is True


async def test_refund_increments_and_revoke_deletes_by_key_id(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    provider = make_provider()
    issued = await provider.mint(DAILY)

    await provider.refund(issued.key_id, 3)
    await provider.revoke(issued.key_id)

    [update] = fake_unkey.requests("/v2/keys.updateCredits")
    assert update["body"] == {"keyId": issued.key_id, "operation": "increment", "value": 3}
    [delete] = fake_unkey.requests("/v2/keys.deleteKey")
    assert delete["body"] == {"keyId": issued.key_id}


async def test_describe_verifies_at_cost_zero_then_reads_the_key(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    provider = make_provider()
    issued = await provider.mint(DAILY)

    info = await provider.describe(issued.key)

    assert info is not None and info.remaining == 10
    assert [r["path"] for r in fake_unkey.requests()][1:] == [VERIFY, GET_KEY]
    assert fake_unkey.requests(VERIFY)[0]["body"]["credits"] == {"cost": 0}
    assert fake_unkey.requests(GET_KEY)[0]["body"] == {"keyId": issued.key_id}


async def test_a_charge_is_one_call_once_the_refill_setting_is_known(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    issued = await make_provider().mint(DAILY)  # this provider learns the setting at mint
    other = make_provider()  # a fresh process: it must read it once

    first = await other.charge(issued.key, 1)
    second = await other.charge(issued.key, 1)

    assert first.refill == second.refill == Refill(RefillInterval.DAILY, 10, 1)
    assert len(fake_unkey.requests(VERIFY)) == 2
    assert len(fake_unkey.requests(GET_KEY)) == 1


async def test_a_charge_stands_when_reading_the_refill_setting_fails(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
):
    issued = await make_provider().mint(DAILY)
    fake_unkey.deny("read_key")

    charge = await make_provider().charge(issued.key, 4)

    # The plan comes with the verify (meta.plan), so it is known even then.
    assert charge == Charge(KeyStatus.VALID, issued.key_id, 6, None, plan="default")
    assert "read_key" in caplog.text


@pytest.mark.parametrize(
    ("fields", "status"),
    [({"enabled": False}, KeyStatus.DISABLED), ({"expires": 1_000}, KeyStatus.EXPIRED)],
)
async def test_verify_codes_map_to_key_statuses(
    fake_unkey: FakeUnkeyServer,
    make_provider: MakeProvider,
    fields: dict[str, Any],
    status: KeyStatus,
):
    created = fake_unkey.workspace.create_key({"apiId": fake_unkey.api_id, **fields})

    charge = await make_provider().charge(created["key"], 1)

    assert (charge.status, charge.key_id) == (status, created["keyId"])
    assert not charge.accepted


async def test_an_over_long_credential_is_an_unknown_key_without_asking_unkey(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
):
    provider = make_provider()
    longest_admitted = "ig_" + "x" * 509  # keys.verifyKey admits at most 512 characters

    over_long = await provider.charge("ig_" + "x" * 510, 1)
    described = await provider.describe("ig_" + "x" * 4096)
    at_the_limit = await provider.charge(longest_admitted, 1)

    assert over_long == Charge(KeyStatus.NOT_FOUND)
    assert described is None
    assert at_the_limit == Charge(KeyStatus.NOT_FOUND)  # Unkey's own verdict
    assert [r["body"]["key"] for r in fake_unkey.requests(VERIFY)] == [longest_admitted]
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_an_unlimited_key_has_no_balance(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    created = fake_unkey.workspace.create_key({"apiId": fake_unkey.api_id, "prefix": "ig"})

    charge = await make_provider().charge(created["key"], 5)

    assert charge == Charge(KeyStatus.VALID, created["keyId"], None, None, plan="default")


# --- failing closed -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "params"),
    [
        ("status", {"status": 500}),
        ("status", {"status": 503}),
        ("rate_limit", {"retry_after": 7}),
        ("malformed", {}),
        ("unexpected", {}),
        ("slow", {"delay": TIMEOUT + 2}),
        ("hang", {}),
        ("drop", {}),
    ],
    ids=["500", "503", "429", "malformed", "unexpected", "slow", "hang", "dropped"],
)
async def test_a_failing_unkey_refuses_the_charge_in_time_and_never_retries_it(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider, mode: str, params: dict[str, Any]
):
    provider = make_provider()
    issued = await provider.mint(DAILY)
    fake_unkey.set_fault(mode, **params)

    started = time.monotonic()
    with pytest.raises(QuotaUnavailable):
        await provider.charge(issued.key, 1)

    assert time.monotonic() - started < TIMEOUT + 1
    assert len(fake_unkey.requests(VERIFY)) == 1
    assert fake_unkey.workspace.keys[issued.key_id].remaining in (9, 10)  # charged at most once


@pytest.mark.parametrize(
    ("permission", "operation"),
    [
        ("verify_key", lambda p, issued: p.charge(issued.key, 1)),
        ("create_key", lambda p, issued: p.mint(DAILY)),
        ("read_key", lambda p, issued: p.describe(issued.key)),
        ("update_key", lambda p, issued: p.refund(issued.key_id, 1)),
        ("delete_key", lambda p, issued: p.revoke(issued.key_id)),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
async def test_a_missing_permission_is_one_loud_line_naming_it(
    fake_unkey: FakeUnkeyServer,
    make_provider: MakeProvider,
    caplog: pytest.LogCaptureFixture,
    permission: str,
    operation: Callable[..., Any],
):
    provider = make_provider()
    issued = await provider.mint(DAILY)
    fake_unkey.deny(permission)
    caplog.clear()

    with caplog.at_level(logging.ERROR, logger="imagegate.unkey"), pytest.raises(QuotaUnavailable):
        await operation(provider, issued)

    [line] = [r for r in caplog.records if r.name == "imagegate.unkey" and r.levelname == "ERROR"]
    assert permission in line.getMessage()
    assert fake_unkey.root_key not in caplog.text


async def test_a_wrong_root_key_is_reported_without_revealing_it(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider, caplog: pytest.LogCaptureFixture
):
    wrong = "unkey_wrong_root_key_0d1e"
    provider = make_provider(root_key=wrong)

    with caplog.at_level(logging.INFO), pytest.raises(QuotaUnavailable):
        await provider.charge("ig_somekey", 1)

    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert len(errors) == 1 and "verify_key" in errors[0].getMessage()
    assert "401" in errors[0].getMessage()
    assert wrong not in caplog.text and "ig_somekey" not in caplog.text


async def test_a_refused_connection_is_retried_once(
    make_provider: MakeProvider, unreachable_url: str
):
    transport = CountingTransport()
    provider = make_provider(base_url=unreachable_url, transport=transport)

    with pytest.raises(QuotaUnavailable):
        await provider.charge("ig_somekey", 1)

    assert transport.attempts == 2


async def test_a_retried_connection_charges_once(
    fake_unkey: FakeUnkeyServer, make_provider: MakeProvider
):
    issued = await make_provider().mint(DAILY)
    transport = CountingTransport(refuse=1)

    charge = await make_provider(transport=transport).charge(issued.key, 1)

    assert (charge.status, charge.remaining) == (KeyStatus.VALID, 9)
    assert transport.attempts >= 2
    assert len(fake_unkey.requests(VERIFY)) == 1


# --- the fake as a separate process -------------------------------------------------------


async def test_the_adapter_works_against_the_fake_in_its_own_process(
    fake_unkey_process: FakeUnkeyProcess, clock: FrozenClock
):
    fake_unkey_process.set_now(datetime(2026, 1, 15, 12, tzinfo=UTC))
    provider = UnkeyQuotaProvider(
        base_url=fake_unkey_process.base_url,
        root_key=fake_unkey_process.root_key,
        api_id=fake_unkey_process.api_id,
        timeout=5.0,
        clock=clock,
    )
    issued = await provider.mint(DAILY)
    spent = await provider.charge(issued.key, 10)
    fake_unkey_process.set_now(datetime(2026, 1, 16, tzinfo=UTC))
    refilled = await provider.charge(issued.key, 0)
    await provider.aclose()

    assert (spent.remaining, refilled.remaining) == (0, 10)
    assert fake_unkey_process.requests(VERIFY)[0]["body"]["credits"] == {"cost": 10}
    assert fake_unkey_process.env["UNKEY_BASE_URL"] == fake_unkey_process.base_url
