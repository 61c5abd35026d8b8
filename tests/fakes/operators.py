"""Hand-written in-memory fakes of the operator ports (KeyAdmin, CreditLedger), for use-case
tests. The fake admin keeps no ledger: the service records changes (as with Unkey)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import datetime

from domain.models import IssuedKey
from domain.operators import (
    CreditChange,
    CreditOperation,
    KeyPatch,
    KeySpec,
    KeyView,
    LedgerEntry,
    given,
)
from tests.fakes.clock import FrozenClock


class MemoryKeyAdmin:
    def __init__(self, clock: FrozenClock, *, knows_before: bool = True) -> None:
        self.clock = clock
        self.knows_before = knows_before  # False: as a provider that cannot read the balance
        self.views: dict[str, KeyView] = {}  # in creation order
        self.keys: dict[str, str] = {}  # key id -> raw key
        self.graces: dict[str, int] = {}  # rerolled key id -> grace seconds

    async def create(self, spec: KeySpec) -> tuple[IssuedKey, KeyView]:
        key, key_id = "ig_" + secrets.token_hex(16), "key_" + secrets.token_hex(6)
        credits = spec.plan.credits if spec.credits is None else spec.credits
        view = KeyView(
            key_id=key_id,
            start=key[:6],
            name=spec.name,
            external_id=spec.external_id,
            plan=spec.plan.name,
            meta=dict(spec.meta),
            enabled=True,
            created_at=self.clock.now(),
            expires_at=spec.expires_at,
            remaining=credits,
            refill=spec.plan.refill,
        )
        self.views[key_id], self.keys[key_id] = view, key
        return IssuedKey(key, key_id, credits), view

    async def get(self, key_id: str) -> KeyView | None:
        return self.views.get(key_id)

    async def list(
        self, *, plan: str | None, external_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[KeyView], str | None]:
        ids = list(self.views)
        start = ids.index(cursor) + 1 if cursor in self.views else 0
        matching = [
            self.views[i]
            for i in ids[start:]
            if (plan is None or self.views[i].plan == plan)
            and (external_id is None or self.views[i].external_id == external_id)
        ]
        page = matching[:limit]
        return page, page[-1].key_id if len(matching) > limit else None

    async def update(self, key_id: str, patch: KeyPatch) -> KeyView | None:
        view = self.views.get(key_id)
        if view is None:
            return None
        if given(patch.plan):
            view = replace(view, plan=patch.plan.name, refill=patch.plan.refill)
        if given(patch.name):
            view = replace(view, name=patch.name)
        if given(patch.meta):
            view = replace(view, meta=dict(patch.meta))
        if given(patch.enabled):
            view = replace(view, enabled=patch.enabled)
        if given(patch.expires_at):
            view = replace(view, expires_at=patch.expires_at)
        self.views[key_id] = view
        return view

    async def update_credits(
        self, key_id: str, operation: CreditOperation, value: int, *, reason: str | None = None
    ) -> CreditChange | None:
        view = self.views.get(key_id)
        if view is None:
            return None
        before = view.remaining or 0
        after = {
            CreditOperation.SET: value,
            CreditOperation.INCREMENT: before + value,
            CreditOperation.DECREMENT: max(0, before - value),
        }[operation]
        self.views[key_id] = replace(view, remaining=after)
        return CreditChange(before if self.knows_before else None, after)

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None:
        view = self.views.get(key_id)
        if view is None:
            return None
        key, new_id = "ig_" + secrets.token_hex(16), "key_" + secrets.token_hex(6)
        self.views[new_id] = replace(view, key_id=new_id, start=key[:6])
        self.views[key_id] = replace(view, remaining=0)
        self.keys[new_id] = key
        self.graces[key_id] = grace_seconds
        return IssuedKey(key, new_id, view.remaining or 0)

    async def revoke(self, key_id: str) -> bool:
        self.keys.pop(key_id, None)
        return self.views.pop(key_id, None) is not None


class MemoryCreditLedger:
    def __init__(self) -> None:
        self.entries: dict[str, list[LedgerEntry]] = {}  # key id -> oldest first

    async def append(self, key_id: str, entry: LedgerEntry) -> None:
        self.entries.setdefault(key_id, []).append(entry)

    async def page(
        self, key_id: str, *, cursor: str | None, limit: int
    ) -> tuple[list[LedgerEntry], str | None]:
        entries = self.entries.get(key_id, [])
        end = len(entries) if cursor is None else int(cursor)  # an index from the oldest: stable
        start = max(0, end - limit)
        return list(reversed(entries[start:end])), str(start) if start > 0 else None

    async def between(
        self, key_id: str, start: datetime | None, end: datetime | None
    ) -> list[LedgerEntry]:
        return [
            e
            for e in self.entries.get(key_id, [])
            if (start is None or e.at >= start) and (end is None or e.at < end)
        ]

    def sum(self, key_id: str) -> int:
        return sum(e.credits for e in self.entries.get(key_id, []))
