"""The built-in quota store: keys and credits in Redis/Valkey, with Unkey v2's semantics.

The layout and the operations are in `redis_ops_quota`. A charge is one EVALSHA
(quota_charge.lua) that applies a due refill and then checks and subtracts the cost. The refill
boundary is computed here with ``domain.credits`` for the refill setting this process believes
the key has (`RefillBeliefs`); the script refuses a wrong belief (STALE_REFILL) without changing
anything, and the charge is repeated with the setting it reported. A key's refill setting
changes only when an operator moves it to another plan, so that second round trip is rare, and
never happens when all keys share the configured plan. The same script checks disabled and
expired keys and writes the ledger's refill and charge entries (lua/lib_quota_charge.lua).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis
import redis.asyncio
from redis.typing import EncodableT

from adapters import redis_ops_quota as ops
from adapters.clock import SystemClock
from adapters.quota_keys import key_digest
from adapters.redis_key_admin import RedisKeyAdmin
from adapters.redis_ops import AsyncRunner, Op, SyncRunner
from adapters.redis_ops_quota import (
    DEFAULT_LAYOUT,
    STALE_REFILL,
    QuotaLayout,
    Verdict,
    refill_args,
)
from domain.errors import QuotaUnavailable
from domain.models import Charge, IssuedKey, KeyInfo, KeyStatus, Plan, Refill
from domain.operators import KeySpec
from domain.ports import Clock

log = logging.getLogger("imagegate.quota")

_REFILL_CACHE_SIZE = 10_000


class RefillBeliefs:
    """The refill setting of each key this process charged (bounded), and the charge loop
    that corrects a wrong belief; shared by the quota provider and the job admission."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # digest → refill setting; keys not seen yet are assumed to share the last one seen.
        self._refills: dict[str, Refill | None] = {}
        self._last: Refill | None = None

    async def charge(
        self, runner: AsyncRunner, digest: str, build: Callable[[list[EncodableT]], Op[Verdict]]
    ) -> Verdict:
        """Run the charge `build` makes for a belief, correcting the belief once if stale."""
        refill = self._refills.get(digest, self._last)
        for _ in range(2):
            verdict = await runner.run(build(refill_args(refill, self._clock.now())))
            if verdict.status != STALE_REFILL:
                if verdict.key_id is not None:
                    self.remember(digest, verdict.refill)
                return verdict
            refill = verdict.refill
        raise QuotaUnavailable("The key's refill setting changed while charging it.")

    def remember(self, digest: str, refill: Refill | None) -> None:
        if len(self._refills) >= _REFILL_CACHE_SIZE:
            self._refills.pop(next(iter(self._refills)))
        self._refills[digest] = refill
        self._last = refill


class RedisQuotaProvider:
    """QuotaProvider over Redis/Valkey. The client is the caller's: this never closes it.

    A self-serve mint is an operator create on the plan (`RedisKeyAdmin.create`), so the key
    has its plan, its mint entry in the ledger and its place in the listings."""

    def __init__(
        self,
        redis: redis.asyncio.Redis,
        clock: Clock,
        layout: QuotaLayout = DEFAULT_LAYOUT,
    ) -> None:
        self._ops = AsyncRunner(redis)
        self._clock = clock
        self._layout = layout
        self._beliefs = RefillBeliefs(clock)
        self._admin = RedisKeyAdmin(redis, clock, self._layout)

    async def mint(self, plan: Plan) -> IssuedKey:
        issued, _ = await self._admin.create(KeySpec(plan))
        self._beliefs.remember(key_digest(issued.key), plan.refill)
        return issued

    async def charge(self, key: str, cost: int) -> Charge:
        return (await self._verify(key, cost)).charge()

    async def describe(self, key: str) -> KeyInfo | None:
        verdict = await self._verify(key, 0)
        if verdict.status != KeyStatus.VALID or verdict.key_id is None:
            return None
        return KeyInfo(verdict.key_id, verdict.start, verdict.remaining, verdict.refill)

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        if amount > 0:
            op = ops.refund(self._layout, key_id, amount, self._clock.now(), job_id)
            _refunded(await self._ops.run(op), key_id, amount)

    async def revoke(self, key_id: str) -> None:
        await self._ops.run(ops.revoke(self._layout, key_id))

    async def aclose(self) -> None:
        """Nothing to release: the Redis client belongs to the caller."""

    async def _verify(self, key: str, cost: int) -> Verdict:
        if cost < 0:
            raise ValueError("cost must be >= 0")
        digest = key_digest(key)
        return await self._beliefs.charge(
            self._ops,
            digest,
            lambda belief: ops.charge(self._layout, digest, cost, belief, self._clock.now()),
        )


class RedisCreditRefunder:
    """The worker's CreditRefunder over the same layout, with a synchronous client."""

    def __init__(
        self,
        redis: redis.Redis,
        layout: QuotaLayout = DEFAULT_LAYOUT,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._ops = SyncRunner(redis)
        self._layout = layout
        self._clock = clock or SystemClock()

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        if amount > 0:
            op = ops.refund(self._layout, key_id, amount, self._clock.now(), job_id)
            _refunded(self._ops.run(op), key_id, amount)


def _refunded(balance: int | None, key_id: str, amount: int) -> None:
    if balance is None:
        log.warning("refund of %d credits to unknown or revoked key %s skipped", amount, key_id)
