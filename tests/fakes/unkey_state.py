"""The state and rules of a fake Unkey v2 workspace (shared/UNKEY.md), without HTTP.

Written independently of the adapters and of `domain.credits`, so that the contract tests
check our code against a second reading of Unkey's rules rather than against itself.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_PREFIX = re.compile(r"^[a-zA-Z0-9_]{1,16}$")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ApiError(Exception):
    """An Unkey error answer: the server turns it into the error envelope."""

    def __init__(
        self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def bad_request(location: str, message: str) -> ApiError:
    return ApiError(400, "Bad Request", message, [{"location": location, "message": message}])


def _random(nbytes: int) -> str:
    number = int.from_bytes(secrets.token_bytes(nbytes), "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _BASE58[digit] + out
    return out


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


def _check(body: dict[str, Any], location: str, allowed: set[str], required: set[str]) -> None:
    for name in body:
        if name not in allowed:
            raise bad_request(f"{location}.{name}", f"unknown field {name!r}")
    for name in required:
        if name not in body:
            raise bad_request(f"{location}.{name}", f"{name} is required")


def _int(value: Any, location: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad_request(location, f"must be an integer >= {minimum}")
    if maximum is not None and value > maximum:
        raise bad_request(location, f"must be an integer <= {maximum}")
    return value


def _typed(body: dict[str, Any], name: str, kind: type | tuple[type, ...], location: str) -> None:
    if name in body and not isinstance(body[name], kind):
        raise bad_request(f"{location}.{name}", f"{name} has the wrong type")


@dataclass
class FakeWorkspace:
    """One API with its keys. Every operation holds the lock: credits change atomically."""

    api_id: str
    clock: Clock = field(default_factory=SystemClock)
    keys: dict[str, FakeKey] = field(default_factory=dict)  # key id → key
    by_digest: dict[str, str] = field(default_factory=dict)  # sha256(key) → key id
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.keys.clear()
            self.by_digest.clear()

    # --- keys.createKey -------------------------------------------------------------------

    def create_key(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"apiId", "prefix", "name", "externalId", "meta", "expires", "enabled"}
        _check(body, "body", allowed | {"recoverable", "credits"}, {"apiId"})
        for name, kind in (("apiId", str), ("prefix", str), ("name", str), ("externalId", str)):
            _typed(body, name, kind, "body")
        for name, kind in (("meta", dict), ("enabled", bool), ("recoverable", bool)):
            _typed(body, name, kind, "body")
        if body["apiId"] != self.api_id:
            raise ApiError(404, "Not Found", f"API {body['apiId']!r} does not exist")
        prefix = body.get("prefix")
        if prefix is not None and not _PREFIX.match(prefix):
            raise bad_request("body.prefix", "prefix must be 1-16 of [a-zA-Z0-9_]")
        remaining, refill = self._credits(body.get("credits"))
        key = (f"{prefix}_" if prefix else "") + _random(16)
        now = self.clock.now()
        fake = FakeKey(
            key_id="key_" + _random(12),
            digest=hashlib.sha256(key.encode()).hexdigest(),
            start=key[: len(prefix or "") + 5],
            created_at=now,
            remaining=remaining,
            refill=refill,
            enabled=body.get("enabled", True),
            expires_ms=_int(body["expires"], "body.expires", 0) if "expires" in body else None,
            name=body.get("name"),
            meta=body.get("meta"),
            external_id=body.get("externalId"),
            plaintext=key if body.get("recoverable") else None,
        )
        if refill is not None:
            fake.refilled_on = latest_refill_date(
                refill["interval"], refill.get("refillDay"), now.date()
            )
        with self.lock:
            self.keys[fake.key_id] = fake
            self.by_digest[fake.digest] = fake.key_id
        return {"keyId": fake.key_id, "key": key}

    def _credits(self, credits: Any) -> tuple[int | None, dict[str, Any] | None]:
        if credits is None:
            return None, None
        if not isinstance(credits, dict):
            raise bad_request("body.credits", "credits must be an object")
        _check(credits, "body.credits", {"remaining", "refill"}, set())
        remaining = credits.get("remaining")
        if remaining is not None:
            _int(remaining, "body.credits.remaining", 0)
        refill = credits.get("refill")
        if refill is None:
            return remaining, None
        if remaining is None:
            raise bad_request("body.credits.refill", "refill needs credits.remaining")
        if not isinstance(refill, dict):
            raise bad_request("body.credits.refill", "refill must be an object")
        _check(refill, "body.credits.refill", {"interval", "amount", "refillDay"}, {"interval"})
        interval = refill["interval"]
        if interval not in ("daily", "monthly"):
            raise bad_request("body.credits.refill.interval", "interval is daily or monthly")
        out: dict[str, Any] = {
            "interval": interval,
            "amount": _int(refill.get("amount"), "body.credits.refill.amount", 1),
        }
        if interval == "monthly":
            if "refillDay" not in refill:
                raise bad_request("body.credits.refill.refillDay", "monthly needs refillDay")
            out["refillDay"] = _int(refill["refillDay"], "body.credits.refill.refillDay", 1, 31)
        return remaining, out  # daily ignores refillDay

    # --- keys.verifyKey -------------------------------------------------------------------

    def verify_key(self, body: dict[str, Any]) -> dict[str, Any]:
        allowed = {"key", "credits", "tags", "permissions", "ratelimits"}
        _check(body, "body", allowed, {"key"})
        if not isinstance(body["key"], str) or not body["key"]:
            raise bad_request("body.key", "key must be a non-empty string")
        cost = 1
        if "credits" in body:
            if not isinstance(body["credits"], dict):
                raise bad_request("body.credits", "credits must be an object")
            _check(body["credits"], "body.credits", {"cost"}, set())
            cost = _int(body["credits"].get("cost", 1), "body.credits.cost", 0)
        digest = hashlib.sha256(body["key"].encode()).hexdigest()
        with self.lock:
            key_id = self.by_digest.get(digest)
            if key_id is None:
                return {"valid": False, "code": "NOT_FOUND"}
            key = self.keys[key_id]
            self._refill(key)
            code = self._verdict(key, body, cost)
            if code == "VALID" and key.remaining is not None:
                key.remaining -= cost
            return {"valid": code == "VALID", "code": code, **self._verify_fields(key)}

    def _verdict(self, key: FakeKey, body: dict[str, Any], cost: int) -> str:
        if not key.enabled:
            return "DISABLED"
        now_ms = int(self.clock.now().timestamp() * 1000)
        if key.expires_ms is not None and key.expires_ms <= now_ms:
            return "EXPIRED"
        if body.get("permissions"):
            return "INSUFFICIENT_PERMISSIONS"  # fake keys carry no permissions
        if key.remaining is not None and cost > key.remaining:
            return "USAGE_EXCEEDED"
        return "VALID"

    @staticmethod
    def _verify_fields(key: FakeKey) -> dict[str, Any]:
        fields: dict[str, Any] = {"keyId": key.key_id, "enabled": key.enabled}
        if key.remaining is not None:
            fields["credits"] = key.remaining
        if key.expires_ms is not None:
            fields["expires"] = key.expires_ms
        if key.meta is not None:
            fields["meta"] = key.meta
        if key.external_id is not None:
            fields["identity"] = {"externalId": key.external_id}
        return fields

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

    def _lookup(self, body: dict[str, Any]) -> FakeKey:
        if not isinstance(body["keyId"], str):
            raise bad_request("body.keyId", "keyId must be a string")
        key = self.keys.get(body["keyId"])
        if key is None:
            raise ApiError(404, "Not Found", f"key {body['keyId']!r} does not exist")
        self._refill(key)
        return key

    def get_key(self, body: dict[str, Any]) -> dict[str, Any]:
        _check(body, "body", {"keyId", "decrypt"}, {"keyId"})
        with self.lock:
            key = self._lookup(body)
            data: dict[str, Any] = {
                "keyId": key.key_id,
                "start": key.start,
                "createdAt": int(key.created_at.timestamp() * 1000),
                "enabled": key.enabled,
                "credits": self._credit_fields(key),
            }
            optional = {"name": key.name, "meta": key.meta, "expires": key.expires_ms}
            data.update({name: value for name, value in optional.items() if value is not None})
            if key.external_id is not None:
                data["identity"] = {"externalId": key.external_id}
            if body.get("decrypt") and key.plaintext is not None:
                data["plaintext"] = key.plaintext
            return data

    @staticmethod
    def _credit_fields(key: FakeKey) -> dict[str, Any]:
        credits: dict[str, Any] = {"remaining": key.remaining}
        if key.refill is not None:
            credits["refill"] = dict(key.refill)
        return credits

    def update_credits(self, body: dict[str, Any]) -> dict[str, Any]:
        _check(body, "body", {"keyId", "operation", "value"}, {"keyId", "operation"})
        operation, value = body["operation"], body.get("value")
        if operation not in ("set", "increment", "decrement"):
            raise bad_request("body.operation", "operation is set, increment or decrement")
        if value is not None:
            _int(value, "body.value", 0)
        with self.lock:
            key = self._lookup(body)
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
            return self._credit_fields(key)

    def delete_key(self, body: dict[str, Any]) -> dict[str, Any]:
        _check(body, "body", {"keyId", "permanent"}, {"keyId"})
        with self.lock:
            key = self._lookup(body)
            del self.keys[key.key_id]
            del self.by_digest[key.digest]
        return {}
