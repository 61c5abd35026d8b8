"""The built-in quota store: keys and credits in Redis/Valkey, with Unkey v2's semantics.

Layout (``ig`` is the key prefix):

- ``ig:quota:key:<sha256 of the key>`` — a hash: ``id``, ``start``, ``remaining``, the refill
  setting (``interval``, ``amount``, ``day``), ``refilled_at`` (the last refill boundary
  applied, epoch seconds) and ``created_at``. The raw key is never stored.
- ``ig:quota:id:<key id>`` — the SHA-256 of that key, for refunds and revocation by key id.

A charge is one EVALSHA (quota_charge.lua) that applies a due refill and then checks and
subtracts the cost. The refill boundary is computed here with ``domain.credits`` for the refill
setting this process believes the key has; the script refuses a wrong belief (STALE_REFILL)
without changing anything, and the charge is repeated with the setting it reported. A key's
refill setting never changes after minting, so that second round trip happens at most once per
key per process, and never when all keys share the configured plan.

The refund and revoke scripts reach the record through the index entry, a key name built inside
the script: fine on a single Redis/Valkey, not on Redis Cluster.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis
import redis.asyncio
from redis.commands.core import AsyncScript
from redis.typing import EncodableT, FieldT

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


def _script(name: str) -> str:
    return resources.files("adapters.lua").joinpath(name).read_text(encoding="utf-8")


CHARGE_LUA = _script("quota_charge.lua")
REFUND_LUA = _script("quota_refund.lua")
REVOKE_LUA = _script("quota_revoke.lua")


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


@dataclass(frozen=True, slots=True)
class QuotaLayout:
    """Where a key lives; shared by the API's provider and the worker's refunder."""

    prefix: str = "ig"

    @property
    def record_prefix(self) -> str:
        return f"{self.prefix}:quota:key:"

    def record(self, digest: str) -> str:
        return self.record_prefix + digest

    def index(self, key_id: str) -> str:
        return f"{self.prefix}:quota:id:{key_id}"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _refill_args(refill: Refill | None, clock: Clock) -> list[str | int]:
    boundary = last_refill_at(refill, clock.now())
    if refill is None or boundary is None:
        return [RefillInterval.NONE.value, 0, ""]
    return [refill.interval.value, refill.day, int(boundary.timestamp())]


@dataclass(frozen=True, slots=True)
class _Verdict:
    status: str
    key_id: str | None = None
    remaining: int | None = None
    refill: Refill | None = None
    start: str = ""

    @classmethod
    def parse(cls, reply: list[Any]) -> _Verdict:
        status = _text(reply[0])
        if status == KeyStatus.NOT_FOUND:
            return cls(status)
        key_id, remaining, interval, amount, day, start = reply[1:7]
        refill = None
        if _text(interval) != RefillInterval.NONE:
            refill = Refill(RefillInterval(_text(interval)), int(amount), int(day))
        return cls(status, _text(key_id), int(remaining), refill, _text(start))

    def charge(self) -> Charge:
        return Charge(KeyStatus(self.status), self.key_id, self.remaining, self.refill)


class RedisQuotaProvider:
    """QuotaProvider over Redis/Valkey. The client is the caller's: this never closes it."""

    def __init__(self, redis: redis.asyncio.Redis, clock: Clock, *, key_prefix: str = "ig") -> None:
        self._redis = redis
        self._clock = clock
        self._layout = QuotaLayout(key_prefix)
        self._charge_script = redis.register_script(CHARGE_LUA)
        self._refund_script = redis.register_script(REFUND_LUA)
        self._revoke_script = redis.register_script(REVOKE_LUA)
        # digest → refill setting; keys not seen yet are assumed to share the last one seen.
        self._refills: dict[str, Refill | None] = {}
        self._last_refill: Refill | None = None

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
            raise _unavailable("mint", exc) from exc
        self._remember(digest, plan.refill)
        return IssuedKey(key=key, key_id=key_id, credits=plan.credits)

    async def charge(self, key: str, cost: int) -> Charge:
        return (await self._verify(key, cost)).charge()

    async def charge_with(
        self, key: str, cost: int, script: AsyncScript, keys: Sequence[str], args: Sequence[Any]
    ) -> Charge:
        """Charge as `charge` does, in a script that does more in the same atomic step: it
        takes KEYS[1] and ARGV[1..4] as the charge script does, then `keys` and `args`."""
        return (await self._verify(key, cost, script=script, keys=keys, args=args)).charge()

    async def describe(self, key: str) -> KeyInfo | None:
        verdict = await self._verify(key, 0)
        if verdict.status != KeyStatus.VALID or verdict.key_id is None:
            return None
        return KeyInfo(verdict.key_id, verdict.start, verdict.remaining, verdict.refill)

    async def refund(self, key_id: str, amount: int) -> None:
        if amount <= 0:
            return
        try:
            balance = await self._refund_script(
                keys=[self._layout.index(key_id)], args=[self._layout.record_prefix, amount]
            )
        except redis.RedisError as exc:
            raise _unavailable("refund", exc) from exc
        if balance is None:
            log.warning("refund of %d credits to unknown or revoked key %s skipped", amount, key_id)

    async def revoke(self, key_id: str) -> None:
        try:
            await self._revoke_script(
                keys=[self._layout.index(key_id)], args=[self._layout.record_prefix]
            )
        except redis.RedisError as exc:
            raise _unavailable("revoke", exc) from exc

    async def aclose(self) -> None:
        """Nothing to release: the Redis client belongs to the caller."""

    async def _verify(
        self,
        key: str,
        cost: int,
        *,
        script: AsyncScript | None = None,
        keys: Sequence[str] = (),
        args: Sequence[EncodableT] = (),
    ) -> _Verdict:
        """Run the charge script, or `script`: one that charges the same way (KEYS[1] and
        ARGV[1..4] as the charge script) and does more with `keys` and `args` after those."""
        if cost < 0:
            raise ValueError("cost must be >= 0")
        digest = key_digest(key)
        refill = self._refills.get(digest, self._last_refill)
        run = script or self._charge_script
        for _ in range(2):
            try:
                reply = await run(
                    keys=[self._layout.record(digest), *keys],
                    args=[cost, *_refill_args(refill, self._clock), *args],
                )
            except redis.RedisError as exc:
                raise _unavailable("charge", exc) from exc
            verdict = _Verdict.parse(reply)
            if verdict.status != "STALE_REFILL":
                if verdict.key_id is not None:
                    self._remember(digest, verdict.refill)
                return verdict
            refill = verdict.refill
        raise QuotaUnavailable("The key's refill setting changed while charging it.")

    def _remember(self, digest: str, refill: Refill | None) -> None:
        if len(self._refills) >= _REFILL_CACHE_SIZE:
            self._refills.pop(next(iter(self._refills)))
        self._refills[digest] = refill
        self._last_refill = refill


class RedisCreditRefunder:
    """The worker's CreditRefunder over the same layout, with a synchronous client."""

    def __init__(self, redis: redis.Redis, *, key_prefix: str = "ig") -> None:
        self._layout = QuotaLayout(key_prefix)
        self._refund_script = redis.register_script(REFUND_LUA)

    def refund(self, key_id: str, amount: int) -> None:
        if amount <= 0:
            return
        try:
            balance = self._refund_script(
                keys=[self._layout.index(key_id)], args=[self._layout.record_prefix, amount]
            )
        except redis.RedisError as exc:
            raise _unavailable("refund", exc) from exc
        if balance is None:
            log.warning("refund of %d credits to unknown or revoked key %s skipped", amount, key_id)


def _unavailable(operation: str, exc: redis.RedisError) -> QuotaUnavailable:
    log.warning("quota store %s failed: %r", operation, exc)
    return QuotaUnavailable()
