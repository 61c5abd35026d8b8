"""Operator-side values and the KeyAdmin port: plans on keys, top-ups, rotation, the ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol

from domain.models import IssuedKey, Plan, Refill


class CreditOperation(StrEnum):
    SET = "set"
    INCREMENT = "increment"
    DECREMENT = "decrement"


class LedgerKind(StrEnum):
    MINT = "mint"
    CHARGE = "charge"
    REFUND = "refund"
    SET = "set"
    INCREMENT = "increment"
    DECREMENT = "decrement"
    REFILL = "refill"
    REROLL = "reroll"


@dataclass(frozen=True, slots=True)
class KeySpec:
    """What an operator (or self-serve mint) asks for."""

    plan: Plan
    name: str | None = None
    external_id: str | None = None
    meta: Mapping[str, object] = field(default_factory=dict)  # caller's meta, plan NOT inside
    expires_at: datetime | None = None
    credits: int | None = None  # overrides plan.credits as the starting balance


@dataclass(frozen=True, slots=True)
class KeyView:
    """An operator's view of a key: never the raw key."""

    key_id: str
    start: str
    name: str | None
    external_id: str | None
    plan: str
    meta: Mapping[str, object]
    enabled: bool
    created_at: datetime | None
    expires_at: datetime | None
    remaining: int | None
    refill: Refill | None


class _Unset:
    """The type of UNSET: a field left out of a patch."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset()  # sentinel: "field not in the PATCH"


@dataclass(frozen=True, slots=True)
class KeyPatch:
    plan: Plan | _Unset = UNSET  # a plan change keeps the balance, applies the new refill
    name: str | _Unset | None = UNSET
    meta: Mapping[str, object] | _Unset = UNSET
    enabled: bool | _Unset = UNSET
    expires_at: datetime | _Unset | None = UNSET  # None clears


@dataclass(frozen=True, slots=True)
class CreditChange:
    """The result of update_credits; `before` is None when the provider cannot tell."""

    before: int | None
    after: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: datetime
    kind: LedgerKind
    credits: int  # signed change (set 30→12 is -18)
    balance: int | None = None
    job_id: str | None = None
    reason: str | None = None


class KeyAdmin(Protocol):
    """Operator operations on keys, for each quota provider."""

    async def create(self, spec: KeySpec) -> tuple[IssuedKey, KeyView]: ...

    async def get(self, key_id: str) -> KeyView | None: ...

    async def list(
        self, *, plan: str | None, external_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[KeyView], str | None]: ...

    async def update(self, key_id: str, patch: KeyPatch) -> KeyView | None: ...

    async def update_credits(
        self, key_id: str, operation: CreditOperation, value: int
    ) -> CreditChange | None: ...  # decrement clamps at 0

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None: ...

    async def revoke(self, key_id: str) -> bool: ...  # False: unknown key
