"""Per-key concurrency caps: one key's flood is refused, other keys are untouched."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import RateLimited, TooManyRequests, TooManyWaiters
from domain.key_limits import KeyConcurrencyLimiter, KeySlots

pytestmark = pytest.mark.anyio


async def test_past_the_cap_one_key_is_refused_and_others_are_not() -> None:
    limiter = KeyConcurrencyLimiter(limit=3)
    release = asyncio.Event()
    entered = 0

    async def request(key_id: str) -> str:
        nonlocal entered
        try:
            async with limiter.slot(key_id):
                entered += 1
                await release.wait()
                return "ok"
        except TooManyRequests as exc:
            return exc.code

    flood = [asyncio.create_task(request("key_a")) for _ in range(10)]
    other = asyncio.create_task(request("key_b"))
    while entered < 4:
        await asyncio.sleep(0)
    assert limiter.in_flight("key_a") == 3
    assert limiter.in_flight("key_b") == 1
    release.set()
    outcomes = await asyncio.gather(*flood)
    assert sorted(outcomes) == ["ok"] * 3 + ["too_many_requests"] * 7
    assert await other == "ok"
    assert limiter.in_flight("key_a") == 0


async def test_a_slot_is_freed_when_the_request_fails() -> None:
    limiter = KeyConcurrencyLimiter(limit=1)
    with pytest.raises(ValueError, match="boom"):
        async with limiter.slot("key_a"):
            raise ValueError("boom")
    async with limiter.slot("key_a"):
        assert limiter.in_flight("key_a") == 1


def test_both_caps_are_429s_with_their_own_codes() -> None:
    assert issubclass(TooManyRequests, RateLimited)  # the edge's table maps RateLimited → 429
    assert issubclass(TooManyWaiters, RateLimited)
    assert (TooManyRequests.code, TooManyWaiters.code) == ("too_many_requests", "too_many_waiters")
    slots = KeySlots(1, TooManyWaiters)
    with slots.hold("key_a"), pytest.raises(TooManyWaiters) as refused, slots.hold("key_a"):
        pass
    assert refused.value.retry_after == 1
    with pytest.raises(ValueError, match="at least 1"):
        KeySlots(0, TooManyWaiters)
