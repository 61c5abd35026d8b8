"""In-memory fakes of the operator ports: a ledger over a list, and a KeyAdmin over no keys
(for in-process HTTP tests that do not exercise the operator API; tests that do use the real
adapters on Valkey)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.models import IssuedKey
from domain.operators import CreditChange, CreditOperation, KeyPatch, KeySpec, KeyView, LedgerEntry


@dataclass
class MemoryLedger:
    entries: dict[str, list[LedgerEntry]] = field(default_factory=dict)

    async def append(self, key_id: str, entry: LedgerEntry) -> None:
        self.entries.setdefault(key_id, []).append(entry)

    async def page(
        self, key_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[LedgerEntry], str | None]:
        newest = list(reversed(self.entries.get(key_id, [])))
        start = int(cursor or 0)
        more = len(newest) > start + limit
        return newest[start : start + limit], str(start + limit) if more else None

    async def between(
        self, key_id: str, start: datetime | None, end: datetime | None
    ) -> list[LedgerEntry]:
        return [
            e
            for e in self.entries.get(key_id, [])
            if (start is None or e.at >= start) and (end is None or e.at < end)
        ]


class NoKeyAdmin:
    """A KeyAdmin that knows no key and creates none."""

    async def create(self, spec: KeySpec) -> tuple[IssuedKey, KeyView]:
        raise NotImplementedError("NoKeyAdmin creates no keys")

    async def get(self, key_id: str) -> KeyView | None:
        return None

    async def list(
        self, *, plan: str | None, external_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[KeyView], str | None]:
        return [], None

    async def update(self, key_id: str, patch: KeyPatch) -> KeyView | None:
        return None

    async def update_credits(
        self, key_id: str, operation: CreditOperation, value: int
    ) -> CreditChange | None:
        return None

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None:
        return None

    async def revoke(self, key_id: str) -> bool:
        return False
