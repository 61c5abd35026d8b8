"""API-side use cases for keys: mint, authenticate, describe, revoke.

Each is bound once in the composition root and called by the HTTP handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain import credits
from domain.errors import InvalidKey, QuotaExceeded, RateLimited
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
    quota: QuotaProvider
    plan: Plan

    async def __call__(self) -> IssuedKey:
        return await self.quota.mint(self.plan)


@dataclass(frozen=True, slots=True)
class Authenticate:
    """Resolve a key to its id without spending anything (a charge of cost 0)."""

    quota: QuotaProvider

    async def __call__(self, key: str) -> Caller:
        charge = await self.quota.charge(key, 0)
        if not charge.accepted or charge.key_id is None:
            raise InvalidKey()
        return Caller(key=key, key_id=charge.key_id, charge=charge)


@dataclass(frozen=True, slots=True)
class DescribeKey:
    quota: QuotaProvider

    async def __call__(self, key: str) -> KeyInfo:
        info = await self.quota.describe(key)
        if info is None:
            raise InvalidKey()
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
    raise InvalidKey()
