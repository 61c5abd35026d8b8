"""The state and rules of a fake Unkey v2 workspace (shared/UNKEY.md), without HTTP.

Written independently of the adapters and of `domain.credits`, so that the contract tests
check our code against a second reading of Unkey's rules rather than against itself. The
operator endpoints (updateKey, listKeys, rerollKey) live in `unkey_admin_state`.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from tests.fakes import unkey_checks as check
from tests.fakes.unkey_admin_state import AdminOperations
from tests.fakes.unkey_answers import KeyAnswers, to_ms
from tests.fakes.unkey_checks import ApiError, bad_request, random_key

__all__ = ["ApiError", "Clock", "FakeKey", "FakeWorkspace", "SystemClock", "bad_request"]

_PREFIX = re.compile(r"^[a-zA-Z0-9_]+$")
_API_ID = re.compile(r"^[a-zA-Z0-9_]+$")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def latest_refill_date(interval: str, refill_day: int | None, today: date) -> date:
    """The most recent day (today included) on which the daily cron refills this key."""
    if interval == "daily":
        return today
    assert refill_day is not None
    day = today
    for _ in range(62):
        last = calendar.monthrange(day.year, day.month)[1]
        if day.day == min(refill_day, last):
            return day
        day -= timedelta(days=1)
    raise AssertionError("unreachable: every month has a refill day")


@dataclass
class FakeKey:
    key_id: str
    digest: str
    start: str
    created_at: datetime
    remaining: int | None
    refill: dict[str, Any] | None  # {"interval", "amount", "refillDay"?}
    enabled: bool = True
    expires_ms: int | None = None
    name: str | None = None
    meta: dict[str, Any] | None = None
    external_id: str | None = None
    plaintext: str | None = None  # kept only for recoverable keys
    refilled_on: date | None = None
    prefix: str | None = None
    byte_length: int = 16
    roles: list[str] = field(default_factory=list)
    permissions: list[str] = field(default_factory=list)
    ratelimits: list[dict[str, Any]] = field(default_factory=list)
    updated_at: datetime | None = None
    revoke_at_ms: int | None = None  # a rerolled key's end of grace


def _permitted(query: str, held: list[str]) -> bool:
    """verifyKey's permission query: names joined by AND / OR (no nesting in the fake)."""
    names = [name for name in re.split(r"[\s()]+", query) if name and name not in ("AND", "OR")]
    if " OR " in query:
        return any(name in held for name in names)
    return all(name in held for name in names)


@dataclass
class FakeWorkspace(AdminOperations, KeyAnswers):
    """One API with its keys. Every operation holds the lock: credits change atomically."""

    api_id: str
    clock: Clock = field(default_factory=SystemClock)
    keys: dict[str, FakeKey] = field(default_factory=dict)  # key id → key
    by_digest: dict[str, str] = field(default_factory=dict)  # sha256(key) → key id
    identities: dict[str, str] = field(default_factory=dict)  # external id → identity id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.keys.clear()
            self.by_digest.clear()
            self.identities.clear()

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    # --- keys.createKey -------------------------------------------------------------------

    def create_key(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"apiId", "prefix", "name", "byteLength", "externalId", "meta", "roles"}
        allowed |= {"permissions", "expires", "credits", "ratelimits", "enabled", "recoverable"}
        check.fields(body, "body", allowed, {"apiId"})
        check.string(body["apiId"], "body.apiId", min_length=3, max_length=255, pattern=_API_ID)
        if body["apiId"] != self.api_id:
            raise check.not_found(f"API {body['apiId']!r}")
        prefix = body.get("prefix")
        if prefix is not None:
            check.string(prefix, "body.prefix", min_length=1, max_length=16, pattern=_PREFIX)
        byte_length = check.integer(body.get("byteLength", 16), "body.byteLength", 16, 255)
        remaining, refill = None, None
        if "credits" in body:
            remaining, refill = self._credits(body["credits"])
        now = self.clock.now()
        fake = FakeKey(
            key_id="key_" + random_key(12),
            digest="",
            start="",
            created_at=now,
            remaining=remaining,
            refill=refill,
            prefix=prefix,
            byte_length=byte_length,
        )
        self._apply_settings(fake, body)
        if body.get("enabled") is not None:
            fake.enabled = check.boolean(body["enabled"], "body.enabled")
        recoverable = check.boolean(body.get("recoverable", False), "body.recoverable")
        key = self._issue(fake, recoverable)
        if refill is not None:
            fake.refilled_on = latest_refill_date(
                refill["interval"], refill.get("refillDay"), now.date()
            )
        with self.lock:
            self._store(fake)
        return {"keyId": fake.key_id, "key": key}

    @staticmethod
    def _issue(fake: FakeKey, recoverable: bool) -> str:
        key = (f"{fake.prefix}_" if fake.prefix else "") + random_key(fake.byte_length)
        fake.digest, fake.start = digest(key), key[: len(fake.prefix or "") + 5]
        fake.plaintext = key if recoverable else None
        return key

    def _store(self, fake: FakeKey) -> None:
        self.keys[fake.key_id] = fake
        self.by_digest[fake.digest] = fake.key_id

    def _apply_settings(self, fake: FakeKey, body: dict[str, Any]) -> None:
        """The fields createKey and updateKey share (on updateKey, null clears)."""
        if body.get("name") is not None:
            fake.name = check.string(body["name"], "body.name", min_length=1, max_length=255)
        if body.get("externalId") is not None:
            fake.external_id = check.string(
                body["externalId"], "body.externalId", min_length=1, max_length=255,
                pattern=check.EXTERNAL_ID,
            )  # fmt: skip
            self.identities.setdefault(fake.external_id, "id_" + random_key(12))
        if body.get("meta") is not None:
            fake.meta = check.meta(body["meta"], "body.meta")
        if body.get("expires") is not None:
            fake.expires_ms = check.integer(
                body["expires"], "body.expires", 0, check.MAX_EXPIRES_MS
            )
        if body.get("roles") is not None:
            fake.roles = check.strings(
                body["roles"], "body.roles", max_items=100, max_length=128, pattern=None
            )
        if body.get("permissions") is not None:
            fake.permissions = check.strings(
                body["permissions"], "body.permissions", max_items=1000, max_length=128,
                pattern=check.PERMISSION,
            )  # fmt: skip
        if body.get("ratelimits") is not None:
            fake.ratelimits = check.key_ratelimits(body["ratelimits"], "body.ratelimits")

    def _credits(self, credits: Any) -> tuple[int | None, dict[str, Any] | None]:
        check.fields(credits, "body.credits", {"remaining", "refill"}, {"remaining"})
        remaining = check.remaining(credits["remaining"], "body.credits.remaining")
        if credits.get("refill") is None:
            return remaining, None
        if remaining is None:
            raise bad_request("body.credits.refill", "an unlimited key cannot refill")
        return remaining, check.refill(credits["refill"], "body.credits.refill")

    # --- keys.verifyKey -------------------------------------------------------------------

    def verify_key(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"key", "credits", "tags", "permissions", "ratelimits", "migrationId"}
        check.fields(body, "body", allowed, {"key"})
        check.string(body["key"], "body.key", min_length=1, max_length=512)
        if "tags" in body:
            check.strings(body["tags"], "body.tags", max_items=20, max_length=512, pattern=None)
        if "permissions" in body:
            check.string(body["permissions"], "body.permissions", min_length=1, max_length=1000)
        if "ratelimits" in body:
            check.verify_ratelimits(body["ratelimits"], "body.ratelimits")
        if "migrationId" in body:
            check.string(body["migrationId"], "body.migrationId", max_length=256)
        cost = 1
        if "credits" in body:
            check.fields(body["credits"], "body.credits", {"cost"}, {"cost"})
            cost = check.integer(body["credits"]["cost"], "body.credits.cost", 0, 10**12)
        with self.lock:
            key = self.find(body["key"])
            if key is None:
                return {"valid": False, "code": "NOT_FOUND"}
            self._refill(key)
            code = self._verdict(key, body, cost)
            if code == "VALID" and key.remaining is not None:
                key.remaining -= cost
            return {"valid": code == "VALID", "code": code, **self._verify_fields(key)}

    def find(self, raw_key: str) -> FakeKey | None:
        key_id = self.by_digest.get(digest(raw_key))
        return None if key_id is None else self.alive(key_id)

    def alive(self, key_id: str) -> FakeKey | None:
        """The key, unless it is gone (a rerolled key is deleted when its grace ends)."""
        key = self.keys.get(key_id)
        if key is not None and key.revoke_at_ms is not None and key.revoke_at_ms <= self.now_ms():
            self._forget(key)
            return None
        return key

    def _forget(self, key: FakeKey) -> None:
        del self.keys[key.key_id]
        self.by_digest.pop(key.digest, None)

    def _verdict(self, key: FakeKey, body: dict[str, Any], cost: int) -> str:
        if not key.enabled:
            return "DISABLED"
        if key.expires_ms is not None and key.expires_ms <= self.now_ms():
            return "EXPIRED"
        if "permissions" in body and not _permitted(body["permissions"], key.permissions):
            return "INSUFFICIENT_PERMISSIONS"
        if key.remaining is not None and cost > key.remaining:
            return "USAGE_EXCEEDED"
        return "VALID"

    # --- refill ---------------------------------------------------------------------------

    def _refill(self, key: FakeKey) -> None:
        """Apply the daily 00:00 UTC run(s) that happened since the key was last seen."""
        if key.refill is None or key.remaining is None:
            return
        due = latest_refill_date(
            key.refill["interval"], key.refill.get("refillDay"), self.clock.now().date()
        )
        if key.refilled_on is None or due > key.refilled_on:
            key.remaining = max(key.remaining, key.refill["amount"])
            key.refilled_on = due

    # --- keys.getKey, keys.updateCredits, keys.deleteKey ----------------------------------

    def lookup(self, body: dict[str, Any]) -> FakeKey:
        check.string(
            body["keyId"], "body.keyId", min_length=3, max_length=255, pattern=check.KEY_ID
        )
        key = self.alive(body["keyId"])
        if key is None:
            raise check.not_found(f"key {body['keyId']!r}")
        self._refill(key)
        return key

    def get_key(self, body: dict[str, Any]) -> dict[str, Any]:
        check.fields(body, "body", {"keyId", "decrypt"}, {"keyId"})
        decrypt = check.boolean(body.get("decrypt", False), "body.decrypt")
        with self.lock:
            return self.key_fields(self.lookup(body), decrypt=decrypt)

    def update_credits(self, body: dict[str, Any]) -> dict[str, Any]:
        check.fields(body, "body", {"keyId", "operation", "value"}, {"keyId", "operation"})
        operation, value = body["operation"], body.get("value")
        if operation not in ("set", "increment", "decrement"):
            raise bad_request("body.operation", "operation is set, increment or decrement")
        if value is not None:
            check.integer(value, "body.value", 0)
        with self.lock:
            key = self.lookup(body)
            if operation == "set":
                key.remaining = value
                if value is None:
                    key.refill = None  # unlimited keys have nothing to refill
            elif value is None:
                raise bad_request("body.value", f"{operation} needs a value")
            elif key.remaining is None:
                raise bad_request("body.operation", f"cannot {operation} an unlimited key")
            elif operation == "increment":
                key.remaining += value
            else:
                key.remaining = max(0, key.remaining - value)
            return self.credit_fields(key)

    def delete_key(self, body: dict[str, Any]) -> dict[str, Any]:
        check.fields(body, "body", {"keyId", "permanent"}, {"keyId"})
        check.boolean(body.get("permanent", False), "body.permanent")
        with self.lock:
            self._forget(self.lookup(body))
        return {}
