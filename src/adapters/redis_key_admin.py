"""KeyAdmin over the local quota store: the same key records RedisQuotaProvider charges.

Layout added to redis_quota.py's (``<p>`` is ``<prefix>:quota:``):

- the record ``<p>key:<digest>`` gains ``plan``, ``name``, ``external_id``, ``meta`` (JSON),
  ``enabled`` ('1'/'0'), ``expires_at`` (epoch ms, '' never) and ``seq`` (its creation number);
- ``<p>keys:seq`` — the creation counter; ``<p>keys``, ``<p>keys:plan:<plan>`` and
  ``<p>keys:ext:<external id>`` — sorted sets of key ids scored by ``seq``, for listing;
- ``<p>ledger:<key id>`` — the key's credit ledger (adapters/redis_ledger.py).

Every balance change here (create, credits, reroll) writes its ledger entry in the same script.
The scripts build key names from ``<p>``: fine on one Redis/Valkey, not on Redis Cluster — as
the quota store's refund script already is.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
import redis.asyncio

from adapters.quota_keys import START_CHARS, key_digest, new_key, new_key_id
from adapters.redis_ledger import DAY_SECONDS, from_ms, ms
from adapters.redis_ops import load_script
from adapters.redis_ops_quota import DEFAULT_LAYOUT, QuotaLayout
from domain.credits import last_refill_at
from domain.errors import InvalidRequest, QuotaUnavailable
from domain.models import IssuedKey, Plan, Refill, RefillInterval
from domain.operators import (
    CreditChange,
    CreditOperation,
    KeyPatch,
    KeySpec,
    KeyView,
    given,
)
from domain.ports import Clock

log = logging.getLogger("imagegate.quota")

# A rerolled key's record outlives its grace by this much, so a charge in between answers
# NOT_FOUND from its `revoke_at` (the injected clock); then Redis deletes it (the server's clock).
REROLL_CLEANUP_SECONDS = DAY_SECONDS


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(reply: list[Any]) -> dict[str, str]:
    return {_text(reply[i]): _text(reply[i + 1]) for i in range(0, len(reply), 2)}


def refill_fields(plan: Plan, now: datetime) -> dict[str, str | int]:
    """A plan's refill setting as record fields; the current period counts as refilled."""
    refill, boundary = plan.refill, last_refill_at(plan.refill, now)
    return {
        "interval": refill.interval.value if refill else RefillInterval.NONE.value,
        "amount": refill.amount if refill else 0,
        "day": refill.day if refill else 0,
        "refilled_at": int(boundary.timestamp()) if boundary else 0,
    }


def decode_view(record: dict[str, str]) -> KeyView:
    refill = None
    if record.get("interval", "none") != RefillInterval.NONE:
        refill = Refill(
            RefillInterval(record["interval"]), int(record["amount"]), int(record["day"])
        )
    created = record.get("created_at")
    expires = record.get("expires_at")
    return KeyView(
        key_id=record["id"],
        start=record.get("start", ""),
        name=record.get("name") or None,
        external_id=record.get("external_id") or None,
        plan=record.get("plan") or "default",
        meta=json.loads(record.get("meta") or "{}"),
        enabled=record.get("enabled", "1") != "0",
        created_at=datetime.fromtimestamp(int(created), UTC) if created else None,
        expires_at=from_ms(expires) if expires else None,
        remaining=int(record["remaining"]),
        refill=refill,
    )


def _expires(value: datetime | None) -> str | int:
    return "" if value is None else ms(value)


class RedisKeyAdmin:
    """KeyAdmin over Redis/Valkey. The client is the caller's: this never closes it."""

    def __init__(
        self, client: redis.asyncio.Redis, clock: Clock, layout: QuotaLayout = DEFAULT_LAYOUT
    ) -> None:
        self._clock = clock
        self._layout = layout
        self._p = layout.keyspace
        self._ledger_ttl = layout.ledger_ttl_seconds

        def script(name: str) -> Any:
            return client.register_script(load_script(f"key_admin_{name}.lua"))

        self._create, self._get, self._list = script("create"), script("get"), script("list")
        self._update, self._credits = script("update"), script("credits")
        self._reroll, self._revoke = script("reroll"), script("revoke")

    async def create(self, spec: KeySpec) -> tuple[IssuedKey, KeyView]:
        key, key_id = new_key(), new_key_id()
        digest, now = key_digest(key), self._clock.now()
        balance = spec.plan.credits if spec.credits is None else spec.credits
        fields: dict[str, str | int] = {
            "start": key[:START_CHARS],
            **refill_fields(spec.plan, now),
            "created_at": int(now.timestamp()),
            "name": spec.name or "",
            "meta": json.dumps(dict(spec.meta), separators=(",", ":")),
            "enabled": "1",
            "expires_at": _expires(spec.expires_at),
        }
        args = [self._p, digest, key_id, ms(now), self._ledger_ttl, balance, spec.plan.name]
        args.append(spec.external_id or "")
        args += [item for pair in fields.items() for item in pair]
        await self._run("create", self._create, [self._layout.record(digest)], args)
        view = await self.get(key_id)
        if view is None:  # the script just created it: only a store losing writes gets here
            raise QuotaUnavailable("The key was created but cannot be read back.")
        return IssuedKey(key=key, key_id=key_id, credits=balance), view

    async def get(self, key_id: str) -> KeyView | None:
        reply = await self._run("get", self._get, [], [self._p, key_id])
        return decode_view(_pairs(reply)) if reply else None

    async def list(
        self, *, plan: str | None, external_id: str | None, cursor: str | None, limit: int
    ) -> tuple[list[KeyView], str | None]:
        if cursor is not None and not (cursor.isascii() and cursor.isdigit()):
            raise InvalidRequest("The cursor is not one this API gave.", field="cursor")
        if external_id is not None:
            index, only = f"keys:ext:{external_id}", plan or ""
        elif plan is not None:
            index, only = f"keys:plan:{plan}", ""
        else:
            index, only = "keys", ""
        reply = await self._run("list", self._list, [], [self._p, index, only, cursor or 0, limit])
        records = [_pairs(record) for record in reply[1:]]
        more = bool(reply[0]) and bool(records)
        return [decode_view(r) for r in records], records[-1]["seq"] if more else None

    async def update(self, key_id: str, patch: KeyPatch) -> KeyView | None:
        fields: dict[str, str | int] = {}
        if given(patch.plan):
            fields |= {"plan": patch.plan.name, **refill_fields(patch.plan, self._clock.now())}
        if given(patch.name):
            fields["name"] = patch.name or ""
        if given(patch.meta):
            fields["meta"] = json.dumps(dict(patch.meta), separators=(",", ":"))
        if given(patch.enabled):
            fields["enabled"] = "1" if patch.enabled else "0"
        if given(patch.expires_at):
            fields["expires_at"] = _expires(patch.expires_at)
        args = [self._p, key_id, *(item for pair in fields.items() for item in pair)]
        reply = await self._run("update", self._update, [], args)
        return decode_view(_pairs(reply)) if reply else None

    async def update_credits(
        self, key_id: str, operation: CreditOperation, value: int, *, reason: str | None = None
    ) -> CreditChange | None:
        if value < 0:
            raise ValueError("value must be >= 0")
        now = ms(self._clock.now())
        args = [self._p, key_id, operation.value, value, now, self._ledger_ttl, reason or ""]
        reply = await self._run("credits", self._credits, [], args)
        return CreditChange(before=int(reply[0]), after=int(reply[1])) if reply else None

    async def reroll(self, key_id: str, grace_seconds: int) -> IssuedKey | None:
        if grace_seconds < 0:
            raise ValueError("grace_seconds must be >= 0")
        key, new_id = new_key(), new_key_id()
        digest, now = key_digest(key), self._clock.now()
        ends = now + timedelta(seconds=grace_seconds)
        args = [self._p, key_id, digest, new_id, key[:START_CHARS], ms(now), self._ledger_ttl]
        args += [ms(ends), grace_seconds + REROLL_CLEANUP_SECONDS, int(now.timestamp())]
        moved = await self._run("reroll", self._reroll, [self._layout.record(digest)], args)
        if moved is None:
            return None
        if grace_seconds == 0:
            await self.revoke(key_id)  # as Unkey's expiration 0: the old key is revoked now
        return IssuedKey(key=key, key_id=new_id, credits=int(moved))

    async def revoke(self, key_id: str) -> bool:
        return bool(await self._run("revoke", self._revoke, [], [self._p, key_id]))

    async def _run(
        self, operation: str, script: Any, keys: Sequence[str], args: Sequence[Any]
    ) -> Any:
        try:
            return await script(keys=keys, args=args)
        except redis.RedisError as exc:
            log.warning("quota store %s failed: %r", operation, exc)
            raise QuotaUnavailable() from exc
