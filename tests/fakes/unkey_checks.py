"""Request checks of the fake Unkey: each 400 carries Unkey's `errors` list naming the field.

The rules are the published v2 request schemas read by hand (types, lengths, patterns, enums,
`additionalProperties: false`), plus the semantic rules in the operation descriptions."""

from __future__ import annotations

import re
import secrets
from typing import Any

KEY_ID = re.compile(r"^[a-zA-Z0-9_]+$")
EXTERNAL_ID = re.compile(r"^[a-zA-Z0-9_.-]+$")
PERMISSION = re.compile(r"^[a-zA-Z0-9_:\-\.\*]+$")
MAX_EXPIRES_MS = 4102444800000  # 2100-01-01
MAX_INT64 = 2**63 - 1
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def random_key(nbytes: int) -> str:
    number = int.from_bytes(secrets.token_bytes(nbytes), "big")
    out = ""
    while number:
        number, digit = divmod(number, 58)
        out = _BASE58[digit] + out
    return out


class ApiError(Exception):
    """An Unkey error answer: the server turns it into the error envelope."""

    def __init__(
        self, status: int, title: str, detail: str, errors: list[dict[str, str]] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.errors = status, title, detail, errors


def bad_request(location: str, message: str) -> ApiError:
    return ApiError(400, "Bad Request", message, [{"location": location, "message": message}])


def not_found(what: str) -> ApiError:
    return ApiError(404, "Not Found", f"{what} does not exist")


def fields(body: Any, location: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise bad_request(location, f"{location} must be an object")
    for name in body:
        if name not in allowed:
            raise bad_request(f"{location}.{name}", f"unknown field {name!r}")
    for name in required:
        if name not in body:
            raise bad_request(f"{location}.{name}", f"{name} is required")
    return body


def integer(value: Any, location: str, minimum: int, maximum: int = MAX_INT64) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise bad_request(location, f"must be an integer >= {minimum}")
    if value > maximum:
        raise bad_request(location, f"must be an integer <= {maximum}")
    return value


def string(
    value: Any,
    location: str,
    *,
    min_length: int = 0,
    max_length: int | None = None,
    pattern: re.Pattern[str] | None = None,
) -> str:
    if not isinstance(value, str) or len(value) < min_length:
        raise bad_request(location, f"must be a string of at least {min_length} characters")
    if max_length is not None and len(value) > max_length:
        raise bad_request(location, f"must be at most {max_length} characters")
    if pattern is not None and not pattern.match(value):
        raise bad_request(location, f"must match {pattern.pattern}")
    return value


def boolean(value: Any, location: str) -> bool:
    if not isinstance(value, bool):
        raise bad_request(location, "must be a boolean")
    return value


def meta(value: Any, location: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise bad_request(location, "must be an object")
    if len(value) > 100:
        raise bad_request(location, "at most 100 properties")
    return value


def strings(
    value: Any, location: str, *, max_items: int, max_length: int, pattern: re.Pattern[str] | None
) -> list[str]:
    if not isinstance(value, list) or len(value) > max_items:
        raise bad_request(location, f"must be an array of at most {max_items} items")
    for index, item in enumerate(value):
        string(item, f"{location}[{index}]", min_length=1, max_length=max_length, pattern=pattern)
    return value


def key_ratelimits(value: Any, location: str) -> list[dict[str, Any]]:
    """createKey/updateKey `ratelimits`: [{name, limit, duration, autoApply}]."""
    if not isinstance(value, list) or len(value) > 50:
        raise bad_request(location, "must be an array of at most 50 items")
    for index, item in enumerate(value):
        where = f"{location}[{index}]"
        limit = fields(item, where, set(item) if isinstance(item, dict) else set(), set())
        for name in ("name", "limit", "duration", "autoApply"):
            if name not in limit:
                raise bad_request(f"{where}.{name}", f"{name} is required")
        string(limit["name"], f"{where}.name", min_length=3, max_length=128)
        integer(limit["limit"], f"{where}.limit", 1)
        integer(limit["duration"], f"{where}.duration", 1000)
        boolean(limit["autoApply"], f"{where}.autoApply")
    return value


def verify_ratelimits(value: Any, location: str) -> None:
    """verifyKey `ratelimits`: [{name, cost?, limit?, duration?}]."""
    if not isinstance(value, list):
        raise bad_request(location, "must be an array")
    for index, item in enumerate(value):
        where = f"{location}[{index}]"
        if not isinstance(item, dict) or "name" not in item:
            raise bad_request(f"{where}.name", "name is required")
        string(item["name"], f"{where}.name", min_length=3, max_length=255)
        for name in ("cost", "limit", "duration"):
            if name in item:
                integer(item[name], f"{where}.{name}", 0)


def refill(value: Any, location: str) -> dict[str, Any]:
    """{"interval", "amount", "refillDay"?} → the stored setting (daily drops refillDay)."""
    setting = fields(value, location, {"interval", "amount", "refillDay"}, {"interval", "amount"})
    interval = setting["interval"]
    if interval not in ("daily", "monthly"):
        raise bad_request(f"{location}.interval", "interval is daily or monthly")
    out: dict[str, Any] = {"interval": interval}
    out["amount"] = integer(setting["amount"], f"{location}.amount", 1)
    if "refillDay" in setting:
        day = integer(setting["refillDay"], f"{location}.refillDay", 1, 31)
        if interval == "monthly":
            out["refillDay"] = day
    elif interval == "monthly":
        raise bad_request(f"{location}.refillDay", "monthly needs refillDay")
    return out


def remaining(value: Any, location: str) -> int | None:
    return None if value is None else integer(value, location, 0)
