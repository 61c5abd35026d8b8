"""The operator's use cases (DESIGN "Operators"): keys on plans, credits, reroll, revoke, usage.

Bound once to a KeyAdmin, a CreditLedger, the plan catalog and a clock; the `/v1/admin` routes
and the `imagegate keys` commands call the same methods. Input is validated here, so both
answer the same errors (each naming its field).

`record_changes`: whether this service writes the ledger entries of the balance changes the
admin makes (mint, credits, reroll). True for Unkey; False for the local store, whose scripts
write them in the same atomic step as the change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from domain.errors import InvalidRequest, KeyNotFound, SelfServeDisabled
from domain.models import IssuedKey, Plan
from domain.operators import (
    UNSET,
    CreditChange,
    CreditLedger,
    CreditOperation,
    KeyAdmin,
    KeyPatch,
    KeySpec,
    KeyView,
    LedgerEntry,
    LedgerKind,
    Unset,
    given,
)
from domain.plans import PlanCatalog
from domain.ports import Clock
from domain.usage import DayUsage, UsageTotals, day_bounds, day_buckets, day_range, usage_totals

NAME_MAX = 200
META_MAX_BYTES = 4096
MAX_CREDITS = 1_000_000_000
MAX_GRACE_SECONDS = 30 * 86_400
MAX_PAGE = 100
_EXTERNAL_ID = re.compile(r"[A-Za-z0-9_.:@|-]{1,255}")  # part of the local store's key names


@dataclass(frozen=True, slots=True)
class UsagePage:
    entries: Sequence[LedgerEntry]
    next_cursor: str | None
    totals: UsageTotals


def self_serve_plan(catalog: PlanCatalog) -> Plan:
    """The plan `POST /v1/keys` and `/authorize` mint on."""
    plan = catalog.self_serve
    if plan is None:
        raise SelfServeDisabled()
    return plan


def _count(value: object, field: str, *, high: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= high:
        raise InvalidRequest(f"`{field}` must be a whole number from 0 to {high}.", field=field)
    return value


def _page_size(limit: int) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidRequest(f"`limit` must be from 1 to {MAX_PAGE}.", field="limit")
    return limit


def _name(name: str | None) -> str | None:
    if name is not None and not 1 <= len(name.strip()) <= len(name) <= NAME_MAX:
        raise InvalidRequest(f"`name` is 1 to {NAME_MAX} characters.", field="name")
    return name


def _external_id(external_id: str | None) -> str | None:
    if external_id is not None and not _EXTERNAL_ID.fullmatch(external_id):
        raise InvalidRequest(
            "`external_id` is 1-255 letters, digits or _ . : @ | -.", field="external_id"
        )
    return external_id


def _meta(meta: Mapping[str, object] | None) -> Mapping[str, object]:
    if meta is None:
        return {}
    if not isinstance(meta, Mapping) or not all(isinstance(k, str) for k in meta):
        raise InvalidRequest("`meta` must be a JSON object.", field="meta")
    if "plan" in meta:
        raise InvalidRequest("`meta.plan` is reserved: set `plan` instead.", field="meta")
    try:
        size = len(json.dumps(meta, separators=(",", ":"), allow_nan=False).encode())
    except (TypeError, ValueError):
        raise InvalidRequest("`meta` must be a JSON object.", field="meta") from None
    if size > META_MAX_BYTES:
        raise InvalidRequest(f"`meta` is at most {META_MAX_BYTES} bytes as JSON.", field="meta")
    return dict(meta)


class OperatorService:
    def __init__(
        self,
        admin: KeyAdmin,
        ledger: CreditLedger,
        catalog: PlanCatalog,
        clock: Clock,
        *,
        record_changes: bool,
    ) -> None:
        self._admin = admin
        self._ledger = ledger
        self._catalog = catalog
        self._clock = clock
        self._record_changes = record_changes

    async def create_key(
        self,
        plan: str,
        *,
        name: str | None = None,
        external_id: str | None = None,
        meta: Mapping[str, object] | None = None,
        expires_at: datetime | None = None,
        credits: int | None = None,
    ) -> tuple[IssuedKey, KeyView]:
        spec = KeySpec(
            plan=self._catalog.require(plan),
            name=_name(name),
            external_id=_external_id(external_id),
            meta=_meta(meta),
            expires_at=self._future(expires_at),
            credits=None if credits is None else _count(credits, "credits", high=MAX_CREDITS),
        )
        issued, view = await self._admin.create(spec)
        await self._record(issued.key_id, LedgerKind.MINT, issued.credits, issued.credits)
        return issued, view

    async def list_keys(
        self,
        *,
        plan: str | None = None,
        external_id: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> tuple[list[KeyView], str | None]:
        return await self._admin.list(
            plan=plan, external_id=_external_id(external_id), cursor=cursor, limit=_page_size(limit)
        )

    async def show_key(self, key_id: str) -> KeyView:
        view = await self._admin.get(key_id)
        if view is None:
            raise KeyNotFound()
        return view

    async def patch_key(
        self,
        key_id: str,
        *,
        plan: str | Unset = UNSET,
        name: str | Unset | None = UNSET,
        meta: Mapping[str, object] | Unset = UNSET,
        enabled: bool | Unset = UNSET,
        expires_at: datetime | Unset | None = UNSET,
    ) -> KeyView:
        if given(enabled) and not isinstance(enabled, bool):
            raise InvalidRequest("`enabled` must be true or false.", field="enabled")
        patch = KeyPatch(
            plan=self._catalog.require(plan) if given(plan) else UNSET,
            name=_name(name) if given(name) else UNSET,
            meta=_meta(meta) if given(meta) else UNSET,
            enabled=enabled,
            expires_at=self._future(expires_at) if given(expires_at) else UNSET,
        )
        view = await self._admin.update(key_id, patch)
        if view is None:
            raise KeyNotFound()
        return view

    async def change_credits(
        self, key_id: str, operation: str, value: int, *, reason: str | None = None
    ) -> CreditChange:
        try:
            op = CreditOperation(operation)
        except ValueError:
            known = ", ".join(o.value for o in CreditOperation)
            raise InvalidRequest(f"`operation` is one of {known}.", field="operation") from None
        change = await self._admin.update_credits(
            key_id, op, _count(value, "value", high=MAX_CREDITS), reason=reason
        )
        if change is None:
            raise KeyNotFound()
        if change.before is not None:  # a provider that cannot tell leaves no entry
            await self._record(
                key_id, LedgerKind(op.value), change.after - change.before, change.after, reason
            )
        return change

    async def reroll_key(self, key_id: str, grace_seconds: int) -> IssuedKey:
        grace = _count(grace_seconds, "grace_seconds", high=MAX_GRACE_SECONDS)
        before = await self._admin.get(key_id) if self._record_changes else None
        issued = await self._admin.reroll(key_id, grace)
        if issued is None:
            raise KeyNotFound()
        if before is not None and before.remaining is not None:
            moved = before.remaining
            await self._record(key_id, LedgerKind.REROLL, -moved, 0, f"rerolled to {issued.key_id}")
            await self._record(
                issued.key_id, LedgerKind.REROLL, moved, moved, f"rerolled from {key_id}"
            )
        return issued

    async def revoke_key(self, key_id: str) -> None:
        if not await self._admin.revoke(key_id):
            raise KeyNotFound()

    async def usage(
        self, key_id: str, *, cursor: str | None = None, limit: int = 50, check_key: bool = True
    ) -> UsagePage:
        """A key's ledger, newest first, with totals over everything kept. `check_key`: answer
        key_not_found for an unknown id (the caller's own key needs no check)."""
        if check_key:
            await self.show_key(key_id)
        entries, next_cursor = await self._ledger.page(
            key_id, cursor=cursor, limit=_page_size(limit)
        )
        totals = usage_totals(await self._ledger.between(key_id, None, None))
        return UsagePage(entries, next_cursor, totals)

    async def usage_by_day(
        self,
        key_id: str,
        *,
        first: date | None = None,
        last: date | None = None,
        check_key: bool = True,
    ) -> list[DayUsage]:
        if check_key:
            await self.show_key(key_id)
        first, last = day_range(first, last, today=self._clock.now().date())
        if first > last:
            return []
        start, end = day_bounds(first, last)
        return day_buckets(await self._ledger.between(key_id, start, end), first, last)

    def _future(self, moment: datetime | None) -> datetime | None:
        if moment is None:
            return None
        if moment.tzinfo is None:
            raise InvalidRequest("`expires_at` needs a time zone.", field="expires_at")
        if moment <= self._clock.now():
            raise InvalidRequest("`expires_at` must be in the future.", field="expires_at")
        return moment

    async def _record(
        self, key_id: str, kind: LedgerKind, credits: int, balance: int, reason: str | None = None
    ) -> None:
        if self._record_changes:
            entry = LedgerEntry(self._clock.now(), kind, credits, balance, reason=reason)
            await self._ledger.append(key_id, entry)
