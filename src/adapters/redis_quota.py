"""The built-in quota store: keys and credits in Redis/Valkey, with Unkey v2's semantics.

The layout and the operations are in `redis_ops_quota`. A charge is one EVALSHA
(quota_charge.lua) that applies a due refill and then checks and subtracts the cost. The refill
boundary is computed here with ``domain.credits`` for the refill setting this process believes
the key has (`RefillBeliefs`); the script refuses a wrong belief (STALE_REFILL) without changing
anything, and the charge is repeated with the setting it reported. A key's refill setting never
changes after minting, so that second round trip happens at most once per key per process, and
never when all keys share the configured plan.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable

import redis
import redis.asyncio
from redis.typing import EncodableT, FieldT

from adapters import redis_ops_quota as ops
from adapters.redis_ops import AsyncRunner, Op, SyncRunner
from adapters.redis_ops_quota import (
    STALE_REFILL,
    QuotaLayout,
    Verdict,
    refill_args,
    unavailable,
)
from domain.credits import last_refill_at
from domain.errors import QuotaUnavailable
from domain.models import Charge, IssuedKey, KeyInfo, KeyStatus, Plan, Refill, RefillInterval
from domain.ports import Clock

log = logging.getLogger("imagegate.quota")

KEY_PREFIX = "ig_"
KEY_ID_PREFIX = "key_"
START_CHARS = 6  # "ig_" and three characters: enough to recognise a key, useless to guess it
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_REFILL_CACHE_SIZE = 10_000


def base58(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = ""
    while number:
        number, digit = divmod(number, 58)
        digits = _BASE58[digit] + digits
    return digits or _BASE58[0]


def new_key() -> str:
    return KEY_PREFIX + base58(secrets.token_bytes(16))  # 128 random bits, as Unkey's default


def new_key_id() -> str:
    return KEY_ID_PREFIX + base58(secrets.token_bytes(12))


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


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
    """QuotaProvider over Redis/Valkey. The client is the caller's: this never closes it."""

    def __init__(self, redis: redis.asyncio.Redis, clock: Clock, *, key_prefix: str = "ig") -> None:
        self._redis = redis
        self._ops = AsyncRunner(redis)
        self._clock = clock
        self._layout = QuotaLayout(key_prefix)
        self._beliefs = RefillBeliefs(clock)

    async def mint(self, plan: Plan) -> IssuedKey:
        key, key_id = new_key(), new_key_id()
        digest = key_digest(key)
        boundary = last_refill_at(plan.refill, self._clock.now())
        refill = plan.refill
        record: dict[FieldT, EncodableT] = {
            "id": key_id,
            "start": key[:START_CHARS],
            "remaining": plan.credits,
            "interval": refill.interval.value if refill else RefillInterval.NONE.value,
            "amount": refill.amount if refill else 0,
            "day": refill.day if refill else 0,
            # A fresh key starts in the current refill period: no refill until the next one.
            "refilled_at": int(boundary.timestamp()) if boundary else 0,
            "created_at": int(self._clock.now().timestamp()),
        }
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(self._layout.record(digest), mapping=record)
                pipe.set(self._layout.index(key_id), digest)
                await pipe.execute()
        except redis.RedisError as exc:
            raise unavailable("mint")(exc) from exc
        self._beliefs.remember(digest, plan.refill)
        return IssuedKey(key=key, key_id=key_id, credits=plan.credits)

    async def charge(self, key: str, cost: int) -> Charge:
        return (await self._verify(key, cost)).charge()

    async def describe(self, key: str) -> KeyInfo | None:
        verdict = await self._verify(key, 0)
        if verdict.status != KeyStatus.VALID or verdict.key_id is None:
            return None
        return KeyInfo(verdict.key_id, verdict.start, verdict.remaining, verdict.refill)

    async def refund(self, key_id: str, amount: int) -> None:
        if amount > 0:
            _refunded(await self._ops.run(ops.refund(self._layout, key_id, amount)), key_id, amount)

    async def revoke(self, key_id: str) -> None:
        await self._ops.run(ops.revoke(self._layout, key_id))

    async def aclose(self) -> None:
        """Nothing to release: the Redis client belongs to the caller."""

    async def _verify(self, key: str, cost: int) -> Verdict:
        if cost < 0:
            raise ValueError("cost must be >= 0")
        digest = key_digest(key)
        return await self._beliefs.charge(
            self._ops, digest, lambda belief: ops.charge(self._layout, digest, cost, belief)
        )


class RedisCreditRefunder:
    """The worker's CreditRefunder over the same layout, with a synchronous client."""

    def __init__(self, redis: redis.Redis, *, key_prefix: str = "ig") -> None:
        self._ops = SyncRunner(redis)
        self._layout = QuotaLayout(key_prefix)

    def refund(self, key_id: str, amount: int) -> None:
        if amount > 0:
            _refunded(self._ops.run(ops.refund(self._layout, key_id, amount)), key_id, amount)


def _refunded(balance: int | None, key_id: str, amount: int) -> None:
    if balance is None:
        log.warning("refund of %d credits to unknown or revoked key %s skipped", amount, key_id)
