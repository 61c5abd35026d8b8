"""API-side use cases for keys: mint, authenticate, describe, revoke.

Each is bound once in the composition root and called by the HTTP handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from domain import credits
from domain.errors import (
    InvalidKey,
    KeyDisabled,
    KeyExpired,
    QuotaExceeded,
    RateLimited,
    SelfServeDisabled,
)
from domain.models import Charge, IssuedKey, KeyInfo, KeyStatus, Plan
from domain.ports import QuotaProvider


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated key: its id and what the zero-cost charge said about its balance."""

    key: str
    key_id: str
    charge: Charge


@dataclass(frozen=True, slots=True)
class MintKey:
    """A self-serve mint on the catalog's self-serve plan; None: the operator issues keys."""

    quota: QuotaProvider
    plan: Plan | None

    async def __call__(self) -> IssuedKey:
        if self.plan is None:
            raise SelfServeDisabled()
        return await self.quota.mint(self.plan)


def raise_for_key(charge: Charge) -> NoReturn:
    """A key refused as a key (not for its balance): disabled, expired or unknown."""
    if charge.status is KeyStatus.DISABLED:
        raise KeyDisabled()
    if charge.status is KeyStatus.EXPIRED:
        raise KeyExpired()
    raise InvalidKey()


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Resolve a key to its id without spending anything (a charge of cost 0)."""

    quota: QuotaProvider

    async def __call__(self, key: str) -> Caller:
        charge = await self.quota.charge(key, 0)
        key_id = charge.key_id
        if not charge.accepted or key_id is None:
            raise_for_key(charge)
        return Caller(key=key, key_id=key_id, charge=charge)


@dataclass(frozen=True, slots=True)
class DescribeKey:
    quota: QuotaProvider

    async def __call__(self, key: str) -> KeyInfo:
        info = await self.quota.describe(key)
        if info is None:  # say why: disabled and expired keys are told apart
            raise_for_key(await self.quota.charge(key, 0))
        return info


@dataclass(frozen=True, slots=True)
class RevokeKey:
    quota: QuotaProvider

    async def __call__(self, key: str) -> str:
        caller = await Authenticate(self.quota)(key)
        await self.quota.revoke(caller.key_id)
        return caller.key_id


def raise_for_refusal(charge: Charge, now: datetime) -> None:
    """Turn a refused charge into the domain error the caller should see."""
    if charge.accepted:
        return
    if charge.status is KeyStatus.USAGE_EXCEEDED:
        next_at = credits.next_refill_at(charge.refill, now)
        raise QuotaExceeded(
            remaining=charge.remaining,
            retry_after=credits.seconds_until(next_at, now),
            refill=charge.refill,
        )
    if charge.status is KeyStatus.RATE_LIMITED:
        raise RateLimited()
    raise_for_key(charge)
