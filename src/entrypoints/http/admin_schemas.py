"""The operator API's bodies and answers (msgspec at the HTTP edge), and the ledger's answers
shared by `/v1/me/usage` and `/v1/admin/keys/{key_id}/usage`. No answer holds a raw key but
the one `POST /v1/admin/keys` and a reroll give, once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from domain import credits
from domain.operator_service import MAX_CREDITS, MAX_GRACE_SECONDS, NAME_MAX, UsagePage
from domain.operators import KeyView, LedgerEntry
from domain.usage import DayUsage
from entrypoints.http.schemas import CreditsOut, iso, refill_out

# What the operator use cases accept (domain/operator_service.py), stated for the document.
# A name is not all white space (`\S` somewhere in it).
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX, pattern=r"\S")]
EXTERNAL_ID = "[A-Za-z0-9_.:@|-]{1,255}"
ExternalId = Annotated[str, msgspec.Meta(pattern=f"^{EXTERNAL_ID}$")]
# The key list's filter: an empty one is no filter.
EXTERNAL_ID_FILTER = f"^({EXTERNAL_ID})?$"
# Whole numbers as floats, as GenerationBody's `n`: JSON Schema counts 137.0 as an integer, so
# the server accepts it (the handlers pass int()); the document says `integer`.
Credits = Annotated[float, msgspec.Meta(ge=0, le=MAX_CREDITS, multiple_of=1)]
GraceSeconds = Annotated[float, msgspec.Meta(ge=0, le=MAX_GRACE_SECONDS, multiple_of=1)]


class KeyCreateBody(msgspec.Struct, forbid_unknown_fields=True):
    plan: str
    name: Name | None = None
    external_id: ExternalId | None = None
    meta: dict[str, Any] | None = None
    expires_at: datetime | None = None
    credits: Credits | None = None


class KeyPatchBody(msgspec.Struct, forbid_unknown_fields=True):
    """Only the fields sent change; `expires_at: null` clears the expiry."""

    plan: str | msgspec.UnsetType = msgspec.UNSET
    name: Name | msgspec.UnsetType | None = msgspec.UNSET
    meta: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET


class CreditsBody(msgspec.Struct, forbid_unknown_fields=True):
    operation: Literal["set", "increment", "decrement"]
    value: Credits
    reason: str | None = None


class RerollBody(msgspec.Struct, forbid_unknown_fields=True):
    grace_seconds: GraceSeconds = 0


class KeyOut(msgspec.Struct):
    key_id: str
    start: str  # the key's first characters: enough to recognise it, useless to use
    name: str | None
    external_id: str | None
    plan: str
    meta: dict[str, Any]
    enabled: bool
    created_at: str | None
    expires_at: str | None
    credits: CreditsOut


class KeyIssuedOut(KeyOut):
    """A new key's view plus `key`, the raw key: shown only in this answer."""

    key: str


class KeyPage(msgspec.Struct):
    data: list[KeyOut]
    next_cursor: str | None


class RemainingOut(msgspec.Struct):
    remaining: int


class RerolledOut(msgspec.Struct):
    key: str
    key_id: str


class EntryOut(msgspec.Struct):
    at: str
    kind: str
    credits: int
    balance: int | None
    job_id: str | None
    reason: str | None


class TotalsOut(msgspec.Struct):
    charged: int
    refunded: int
    net: int


class UsageOut(msgspec.Struct):
    data: list[EntryOut]
    next_cursor: str | None
    totals: TotalsOut


class BucketOut(msgspec.Struct):
    date: str
    charged: int
    refunded: int


class BucketsOut(msgspec.Struct):
    buckets: list[BucketOut]


def whole(value: float | None) -> int | None:
    return None if value is None else int(value)


def key_out(view: KeyView, now: datetime) -> KeyOut:
    return KeyOut(
        key_id=view.key_id,
        start=view.start,
        name=view.name,
        external_id=view.external_id,
        plan=view.plan,
        meta=dict(view.meta),
        enabled=view.enabled,
        created_at=iso(view.created_at),
        expires_at=iso(view.expires_at),
        credits=CreditsOut(
            remaining=view.remaining,
            refill=refill_out(view.refill),
            next_refill_at=iso(credits.next_refill_at(view.refill, now)),
        ),
    )


def key_issued_out(key: str, view: KeyView, now: datetime) -> KeyIssuedOut:
    shown = key_out(view, now)
    fields = {name: getattr(shown, name) for name in KeyOut.__struct_fields__}
    return KeyIssuedOut(**fields, key=key)


def entry_out(entry: LedgerEntry) -> EntryOut:
    return EntryOut(
        at=iso(entry.at) or "",
        kind=entry.kind.value,
        credits=entry.credits,
        balance=entry.balance,
        job_id=entry.job_id,
        reason=entry.reason,
    )


def usage_out(page: UsagePage) -> UsageOut:
    totals = page.totals
    return UsageOut(
        data=[entry_out(e) for e in page.entries],
        next_cursor=page.next_cursor,
        totals=TotalsOut(charged=totals.charged, refunded=totals.refunded, net=totals.net),
    )


def buckets_out(days: list[DayUsage]) -> BucketsOut:
    return BucketsOut(
        [BucketOut(d.date.isoformat(), charged=d.charged, refunded=d.refunded) for d in days]
    )
