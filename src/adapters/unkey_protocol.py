"""Unkey API v2 without I/O (shared/UNKEY.md): each operation as a `Call` (endpoint, body and
the decoder of its answer), and the mapping of every failure to `QuotaUnavailable`. The async
and sync runners in `unkey_http` execute Calls for the API's UnkeyQuotaProvider and
UnkeyKeyAdmin and for the worker's UnkeyCreditRefunder.

Failing closed: anything but a well-formed success (5xx, 429, timeouts, broken bodies, auth
errors) raises QuotaUnavailable, so a request is refused rather than served for free.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from domain.errors import QuotaUnavailable
from domain.models import KeyStatus, Plan, Refill, RefillInterval

log = logging.getLogger("imagegate.unkey")
T = TypeVar("T")

KEY_PREFIX = "ig"
MAX_KEY_LENGTH = 512  # keys.verifyKey's schema: a longer `key` is a 400


@dataclass(frozen=True, slots=True)
class Endpoint:
    path: str
    permission: str  # what the root key needs: api.*.<permission>
    # 404 names a missing key on these; elsewhere it means a wrong API id or permission.
    key_may_be_missing: bool = False

    @property
    def name(self) -> str:
        return self.path.removeprefix("/v2/")


CREATE_KEY = Endpoint("/v2/keys.createKey", "create_key")
VERIFY_KEY = Endpoint("/v2/keys.verifyKey", "verify_key")
GET_KEY = Endpoint("/v2/keys.getKey", "read_key", key_may_be_missing=True)
UPDATE_CREDITS = Endpoint("/v2/keys.updateCredits", "update_key", key_may_be_missing=True)
DELETE_KEY = Endpoint("/v2/keys.deleteKey", "delete_key", key_may_be_missing=True)
UPDATE_KEY = Endpoint("/v2/keys.updateKey", "update_key", key_may_be_missing=True)
REROLL_KEY = Endpoint("/v2/keys.rerollKey", "create_key", key_may_be_missing=True)
LIST_KEYS = Endpoint("/v2/apis.listKeys", "read_key")


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request and how to read its answer (raising QuotaUnavailable on failure)."""

    endpoint: Endpoint
    body: dict[str, object]
    decode: Callable[[httpx.Response], T]

    @property
    def path(self) -> str:
        return self.endpoint.path


def call(
    endpoint: Endpoint, body: dict[str, object], shape: type[T], *, enveloped: bool = True
) -> Call[T]:
    return Call(endpoint, body, lambda answer: read(endpoint, answer, shape, enveloped=enveloped))


def call_on_key(endpoint: Endpoint, body: dict[str, object], shape: type[T]) -> Call[T | None]:
    """A call addressing a key by id: None when Unkey says the key is missing."""

    def decode(response: httpx.Response) -> T | None:
        try:
            return read(endpoint, response, shape)
        except KeyMissing:
            return None

    return Call(endpoint, body, decode)


def verifiable(key: str) -> bool:
    """Whether Unkey's verify schema admits the credential; others are unknown keys."""
    return 0 < len(key) <= MAX_KEY_LENGTH


# --- request bodies -----------------------------------------------------------------------


def refill_body(refill: Refill | None) -> dict[str, object] | None:
    if refill is None or refill.interval is RefillInterval.NONE:
        return None
    body: dict[str, object] = {"interval": refill.interval.value, "amount": refill.amount}
    if refill.interval is RefillInterval.MONTHLY:
        body["refillDay"] = refill.day
    return body


def create_key_body(
    api_id: str, plan: Plan, *, recoverable: bool, credits: int | None = None
) -> dict[str, object]:
    """`credits` overrides the plan's starting balance."""
    balance: dict[str, object] = {"remaining": plan.credits if credits is None else credits}
    refill = refill_body(plan.refill)
    if refill is not None:
        balance["refill"] = refill
    return {"apiId": api_id, "prefix": KEY_PREFIX, "credits": balance, "recoverable": recoverable}


def verify(key: str, cost: int) -> Call[Verification]:
    # No apiId in v2; an explicit cost, since omitting it charges 1.
    return call(VERIFY_KEY, {"key": key, "credits": {"cost": cost}}, Verification)


def get_key(key_id: str) -> Call[KeyDetails | None]:
    return call_on_key(GET_KEY, {"keyId": key_id}, KeyDetails)


def refund(key_id: str, amount: int) -> Call[None]:
    """Give credits back; a key that is gone by now is skipped, not an error."""
    increment = update_credits(key_id, "increment", amount)

    def decode(response: httpx.Response) -> None:
        if increment.decode(response) is None:
            log.warning("refund of %d credits to unknown or deleted key %s skipped", amount, key_id)

    return Call(UPDATE_CREDITS, increment.body, decode)


def update_credits(key_id: str, operation: str, value: int) -> Call[KeyCredits | None]:
    body: dict[str, object] = {"keyId": key_id, "operation": operation, "value": value}
    return call_on_key(UPDATE_CREDITS, body, KeyCredits)


def delete_key(key_id: str) -> Call[Empty | None]:
    return call_on_key(DELETE_KEY, {"keyId": key_id}, Empty)


# --- response shapes ----------------------------------------------------------------------


class Envelope(msgspec.Struct, Generic[T]):
    data: T


class CreatedKey(msgspec.Struct, rename="camel"):
    key_id: str
    key: str


class Verification(msgspec.Struct, rename="camel"):
    valid: bool
    code: str
    key_id: str | None = None
    credits: int | None = None  # the balance after this call; absent on unlimited keys
    meta: dict[str, Any] | None = None  # the key's meta, where its plan is (`meta.plan`)


class RefillSetting(msgspec.Struct, rename="camel"):
    interval: str
    amount: int
    refill_day: int | None = None


class KeyCredits(msgspec.Struct):
    remaining: int | None = None
    refill: RefillSetting | None = None


class Identity(msgspec.Struct, rename="camel"):
    id: str
    external_id: str


class KeyDetails(msgspec.Struct, rename="camel"):
    """keys.getKey's data, and each key of apis.listKeys."""

    key_id: str
    start: str
    enabled: bool = True
    created_at: int | None = None  # ms epoch
    name: str | None = None
    meta: dict[str, Any] | None = None
    expires: int | None = None  # ms epoch
    credits: KeyCredits | None = None
    identity: Identity | None = None


class Empty(msgspec.Struct):
    pass


class _ErrorBody(msgspec.Struct):
    title: str = ""
    detail: str = ""


class _ErrorEnvelope(msgspec.Struct):
    error: _ErrorBody | None = None


# Unkey's verdicts → ours. INSUFFICIENT_PERMISSIONS and any code we do not know (a newer API)
# become FORBIDDEN: the key exists but must not be served, which callers treat as invalid.
_STATUSES = {status.value: status for status in KeyStatus}
_STATUSES["INSUFFICIENT_PERMISSIONS"] = KeyStatus.FORBIDDEN


def key_status(verification: Verification) -> KeyStatus:
    status = _STATUSES.get(verification.code, KeyStatus.FORBIDDEN)
    if (status is KeyStatus.VALID) != verification.valid:
        log.error("Unkey keys.verifyKey said valid=%s with code %s", verification.valid, status)
        raise QuotaUnavailable()
    return status


def refill_of(details: KeyDetails) -> Refill | None:
    setting = details.credits.refill if details.credits else None
    if setting is None or setting.interval not in (RefillInterval.DAILY, RefillInterval.MONTHLY):
        return None
    return Refill(RefillInterval(setting.interval), setting.amount, setting.refill_day or 1)


# --- responses and failures ---------------------------------------------------------------


_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def _decode(shape: type[T], content: bytes, enveloped: bool) -> T:
    if not enveloped:  # the shape names `data` and its siblings itself
        return msgspec.json.decode(content, type=shape)
    decoder = _DECODERS.get(shape)
    if decoder is None:
        decoder = _DECODERS[shape] = msgspec.json.Decoder(Envelope[shape])  # type: ignore[valid-type]
    data: T = decoder.decode(content).data
    return data


class KeyMissing(Exception):
    """A 404 from an endpoint addressing a key by id: the key is gone."""


def read(
    endpoint: Endpoint, response: httpx.Response, shape: type[T], *, enveloped: bool = True
) -> T:
    """The `data` of a success (the whole body if not `enveloped`), or raise:
    QuotaUnavailable, or KeyMissing (see Endpoint)."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return _decode(shape, response.content, enveloped)
        except msgspec.DecodeError as exc:
            log.warning("Unkey %s answered an unexpected body: %s", endpoint.name, exc)
            raise QuotaUnavailable() from None
    detail = _error_detail(response)
    if status == 404 and endpoint.key_may_be_missing:
        raise KeyMissing(detail)
    if status in (401, 403, 404):
        log.error(
            "Unkey refused %s (HTTP %d: %s): check UNKEY_ROOT_KEY and UNKEY_API_ID; the root key"
            " needs the %s permission (api.*.%s)",
            endpoint.name, status, detail, endpoint.permission, endpoint.permission,
        )  # fmt: skip
    elif status == 429:
        retry_after = response.headers.get("Retry-After", "?")
        log.warning("Unkey %s rate limited us (Retry-After: %s)", endpoint.name, retry_after)
    elif 400 <= status < 500:
        log.error("Unkey %s rejected our request (HTTP %d: %s)", endpoint.name, status, detail)
    else:
        log.warning("Unkey %s failed (HTTP %d: %s)", endpoint.name, status, detail)
    raise QuotaUnavailable()


def unreachable(endpoint: Endpoint, exc: Exception) -> QuotaUnavailable:
    """A transport failure or timeout: log it (never the request) and fail closed."""
    log.warning("Unkey %s unreachable: %s", endpoint.name, type(exc).__name__)
    return QuotaUnavailable()


def _error_detail(response: httpx.Response) -> str:
    try:
        error = msgspec.json.decode(response.content, type=_ErrorEnvelope).error
    except msgspec.DecodeError:
        return "no error body"
    if error is None:
        return "no error body"
    return f"{error.title}: {error.detail}"[:300]
