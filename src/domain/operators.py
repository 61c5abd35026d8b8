"""What an operator does to keys: the KeyAdmin port and its values (DESIGN "Operators").

Shared by both quota providers: the local store (adapters/redis_key_admin.py) and Unkey.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final, Protocol, TypeAlias, TypeGuard, TypeVar

from domain.models import IssuedKey, Plan, Refill

T = TypeVar("T")


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
    """What an operator (or a self-serve mint) asks for."""

    plan: Plan
    name: str | None = None
    external_id: str | None = None
    meta: Mapping[str, object] = field(default_factory=dict)  # the caller's meta, plan NOT inside
    expires_at: datetime | None = None
    credits: int | None = None  # overrides plan.credits as the starting balance


@dataclass(frozen=True, slots=True)
class KeyView:
    """GET /v1/admin/keys/{id}; never the raw key."""

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
    """The type of UNSET: a field absent from a PATCH (distinct from null, which clears)."""

    _instance: _Unset | None = None

    def __new__(cls) -> _Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Final = _Unset()
Unset: TypeAlias = _Unset  # for signatures outside this module


def given(value: T | _Unset) -> TypeGuard[T]:
    """Whether a PATCH field was sent (None counts: it clears)."""
    return not isinstance(value, _Unset)


@dataclass(frozen=True, slots=True)
class KeyPatch:
    plan: Plan | _Unset = UNSET  # a plan change keeps the balance, applies the new refill
    name: str | _Unset | None = UNSET
    meta: Mapping[str, object] | _Unset = UNSET
    enabled: bool | _Unset = UNSET
    expires_at: datetime | _Unset | None = UNSET  # None clears


@dataclass(frozen=True, slots=True)
class CreditChange:
    """The result of update_credits. `before` is None when the provider cannot tell."""

    before: int | None
    after: int


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    at: datetime
    kind: LedgerKind
    credits: int  # the signed change: a set from 30 to 12 is -18
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
        self, key_id: str, operation: CreditOperation, value: int, *, reason: str | None = None
    ) -> CreditChange | None:
        """Decrement clamps at 0. None: unknown key. `reason` goes on the ledger entry of a
        store that writes its own (the local one)."""
        ...

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None: ...

    async def revoke(self, key_id: str) -> bool:
        """False: unknown key."""
        ...


# --- additions (operators-prep) ---------------------------------------------------------------


class CreditLedger(Protocol):
    """A key's credit ledger. The local store writes its entries in the same atomic step as the
    balance change; `append` is for changes a provider makes elsewhere (Unkey)."""

    async def append(self, key_id: str, entry: LedgerEntry) -> None: ...

    async def page(
        self, key_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[LedgerEntry], str | None]:
        """Newest first; the cursor continues after the last entry of the previous page."""
        ...

    async def between(
        self, key_id: str, start: datetime | None, end: datetime | None
    ) -> list[LedgerEntry]:
        """Entries with start <= at < end (None: unbounded), oldest first."""
        ...
