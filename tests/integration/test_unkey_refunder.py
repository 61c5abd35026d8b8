"""The worker's UnkeyCreditRefunder (sync) against the fake Unkey over loopback HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters.unkey_quota import UnkeyCreditRefunder
from domain.errors import QuotaUnavailable
from tests.fakes.unkey_server import FakeUnkeyServer

pytest_plugins = ["tests.fakes.unkey_fixtures"]

TIMEOUT = 0.5


# --- the worker's refunder ----------------------------------------------------------------


@pytest.fixture
def refunder(fake_unkey: FakeUnkeyServer) -> Iterator[UnkeyCreditRefunder]:
    refunder = UnkeyCreditRefunder(
        base_url=fake_unkey.base_url, root_key=fake_unkey.root_key, timeout=TIMEOUT
    )
    yield refunder
    refunder.close()


def test_the_refunder_increments_credits(
    fake_unkey: FakeUnkeyServer, refunder: UnkeyCreditRefunder
):
    created = fake_unkey.workspace.create_key(
        {"apiId": fake_unkey.api_id, "credits": {"remaining": 0}}
    )

    refunder.refund(created["keyId"], 6)
    refunder.refund("key_unknown0000", 6)  # skipped, not raised

    assert fake_unkey.workspace.keys[created["keyId"]].remaining == 6
    bodies = [r["body"] for r in fake_unkey.requests("/v2/keys.updateCredits")]
    assert bodies[0] == {"keyId": created["keyId"], "operation": "increment", "value": 6}
    assert len(bodies) == 2


@pytest.mark.parametrize(("mode", "params"), [("status", {"status": 502}), ("hang", {})])
def test_the_refunder_fails_closed(
    fake_unkey: FakeUnkeyServer,
    refunder: UnkeyCreditRefunder,
    mode: str,
    params: dict[str, Any],
):
    fake_unkey.set_fault(mode, **params)

    started = time.monotonic()
    with pytest.raises(QuotaUnavailable):
        refunder.refund("key_any", 1)

    assert time.monotonic() - started < TIMEOUT + 1
    assert len(fake_unkey.requests("/v2/keys.updateCredits")) == 1


def test_the_refunder_names_a_missing_update_permission(
    fake_unkey: FakeUnkeyServer, refunder: UnkeyCreditRefunder, caplog: pytest.LogCaptureFixture
):
    fake_unkey.deny("update_key")

    with pytest.raises(QuotaUnavailable):
        refunder.refund("key_any", 1)

    assert "update_key" in caplog.text and fake_unkey.root_key not in caplog.text


def test_the_refunder_retries_a_refused_connection_once(unreachable_url: str):
    attempts: list[httpx.Request] = []

    class Counting(httpx.HTTPTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            attempts.append(request)
            return super().handle_request(request)

    refunder = UnkeyCreditRefunder(
        base_url=unreachable_url, root_key="root", timeout=TIMEOUT, transport=Counting()
    )
    with pytest.raises(QuotaUnavailable):
        refunder.refund("key_any", 1)
    refunder.close()

    assert len(attempts) == 2
