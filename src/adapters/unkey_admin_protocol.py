"""The operator side of Unkey API v2 without I/O (shared/UNKEY.md, "Operator endpoints"):
request bodies for createKey (with a plan, name, external id, meta and expiry), updateKey,
updateCredits, rerollKey and listKeys, and the mapping of Unkey's key object to a KeyView.

The plan's name lives in the key's `meta.plan`; a KeyView's `meta` is the rest. Inputs Unkey's
schemas would refuse (a 400, read as an outage) are refused here as InvalidRequest instead,
naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

import msgspec

from adapters import unkey_protocol as unkey
from domain.errors import InvalidRequest
from domain.models import Plan
from domain.operators import CreditOperation, KeyPatch, KeySpec, KeyView, _Unset

PLAN_META = "plan"
_EXTERNAL_ID = re.compile(r"[a-zA-Z0-9_.-]{1,255}")
_MAX_META_FIELDS = 100 - 1  # Unkey's cap, less the one the plan takes
_MAX_EXPIRES_MS = 4102444800000  # the schema's latest `expires`: 2100-01-01
_MAX_GRACE_MS = 4102444800000
_DEFAULT_PLAN = Plan(credits=0, refill=None).name


class KeyPage(msgspec.Struct):
    """apis.listKeys: `pagination` sits beside `data`, so it is decoded as its own envelope."""

    class Pagination(msgspec.Struct, rename="camel"):
        has_more: bool
        cursor: str | None = None

    data: list[unkey.KeyDetails]
    pagination: Pagination


# --- checks -------------------------------------------------------------------------------


def _check_name(name: str | None) -> None:
    if name is not None and not 1 <= len(name) <= 255:
        raise InvalidRequest("a key name has 1 to 255 characters", field="name")


def _check_meta(meta: Mapping[str, object]) -> None:
    if PLAN_META in meta:
        raise InvalidRequest(f"meta.{PLAN_META} is reserved: set the plan instead", field="meta")
    if len(meta) > _MAX_META_FIELDS:
        raise InvalidRequest(f"meta has at most {_MAX_META_FIELDS} fields", field="meta")


def _expires_ms(at: datetime | None) -> int | None:
    if at is None:
        return None
    ms = int(at.timestamp() * 1000)
    if not 0 <= ms <= _MAX_EXPIRES_MS:
        raise InvalidRequest("the expiry must fall between 1970 and 2100", field="expires_at")
    return ms


# --- request bodies -----------------------------------------------------------------------


def create_key(api_id: str, spec: KeySpec, *, recoverable: bool) -> dict[str, object]:
    if spec.credits is not None and spec.credits < 0:
        raise InvalidRequest("starting credits cannot be negative", field="credits")
    _check_name(spec.name)
    _check_meta(spec.meta)
    body = unkey.create_key_body(api_id, spec.plan, recoverable=recoverable, credits=spec.credits)
    body["meta"] = {**spec.meta, PLAN_META: spec.plan.name}
    if spec.name is not None:
        body["name"] = spec.name
    if spec.external_id is not None:
        if not _EXTERNAL_ID.fullmatch(spec.external_id):
            raise InvalidRequest(
                "an external id is 1 to 255 of a-z, A-Z, 0-9, '_', '.', '-'", field="external_id"
            )
        body["externalId"] = spec.external_id
    expires = _expires_ms(spec.expires_at)
    if expires is not None:
        body["expires"] = expires
    return body


def update_key(key_id: str, patch: KeyPatch, current: unkey.KeyDetails) -> dict[str, object]:
    """keys.updateKey for a patch; `current` supplies what a partial meta or plan change
    keeps (the other half of `meta`, and whether the key is unlimited)."""
    body: dict[str, object] = {"keyId": key_id}
    if not isinstance(patch.name, _Unset):
        _check_name(patch.name)
        body["name"] = patch.name
    if not isinstance(patch.enabled, _Unset):
        body["enabled"] = patch.enabled
    if not isinstance(patch.expires_at, _Unset):
        body["expires"] = _expires_ms(patch.expires_at)
    plan = None if isinstance(patch.plan, _Unset) else patch.plan
    meta = None if isinstance(patch.meta, _Unset) else patch.meta
    if meta is not None or plan is not None:
        meta = caller_meta(current) if meta is None else meta
        _check_meta(meta)
        body["meta"] = {**meta, PLAN_META: plan.name if plan else plan_of(current)}
    if plan is not None:
        body["credits"] = _plan_credits(plan, current)
    return body


def _plan_credits(plan: Plan, current: unkey.KeyDetails) -> dict[str, object]:
    """The new plan's refill, the balance kept (omitted); an unlimited key, which cannot
    refill, starts at the plan's credits."""
    credits: dict[str, object] = {"refill": unkey.refill_body(plan.refill)}
    if current.credits is None or current.credits.remaining is None:
        credits["remaining"] = plan.credits
    return credits


def update_credits(key_id: str, operation: CreditOperation, value: int) -> dict[str, object]:
    if value < 0:
        raise InvalidRequest("the value cannot be negative", field="value")
    return {"keyId": key_id, "operation": operation.value, "value": value}


def reroll_key(key_id: str, grace_seconds: int) -> dict[str, object]:
    if not 0 <= grace_seconds * 1000 <= _MAX_GRACE_MS:
        raise InvalidRequest("the grace period must be 0 or more seconds", field="grace_seconds")
    return {"keyId": key_id, "expiration": grace_seconds * 1000}


def list_keys(
    api_id: str, *, external_id: str | None, cursor: str | None, limit: int
) -> dict[str, object]:
    if not 1 <= limit <= 100:
        raise InvalidRequest("limit is 1 to 100", field="limit")
    body: dict[str, object] = {"apiId": api_id, "limit": limit}
    if external_id is not None:
        body["externalId"] = external_id
    if cursor is not None:
        body["cursor"] = cursor
    return body


# --- responses ----------------------------------------------------------------------------


def plan_of(details: unkey.KeyDetails) -> str:
    plan = (details.meta or {}).get(PLAN_META)
    return plan if isinstance(plan, str) else _DEFAULT_PLAN


def caller_meta(details: unkey.KeyDetails) -> dict[str, object]:
    return {name: value for name, value in (details.meta or {}).items() if name != PLAN_META}


def _from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def key_view(details: unkey.KeyDetails) -> KeyView:
    return KeyView(
        key_id=details.key_id,
        start=details.start,
        name=details.name,
        external_id=details.identity.external_id if details.identity else None,
        plan=plan_of(details),
        meta=caller_meta(details),
        enabled=details.enabled,
        created_at=_from_ms(details.created_at),
        expires_at=_from_ms(details.expires),
        remaining=details.credits.remaining if details.credits else None,
        refill=unkey.refill_of(details),
    )
