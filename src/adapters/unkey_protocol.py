"""Unkey API v2 without I/O (shared/UNKEY.md): request bodies, response shapes and the mapping
of every failure to `QuotaUnavailable`. Shared by the API's async UnkeyQuotaProvider and the
worker's sync UnkeyCreditRefunder.

Failing closed: anything but a well-formed success (5xx, 429, timeouts, broken bodies, auth
errors) raises QuotaUnavailable, so a request is refused rather than served for free.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx
import msgspec

from domain.errors import QuotaUnavailable
from domain.models import KeyStatus, Plan, Refill, RefillInterval

log = logging.getLogger("imagegate.unkey")

KEY_PREFIX = "ig"
MAX_CONNECT_SECONDS = 3.0


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


LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=50)


def headers(root_key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {root_key}", "Accept": "application/json"}


def timeouts(seconds: float) -> httpx.Timeout:
    """Explicit timeouts: connecting is quick or hopeless; reads get the whole budget."""
    return httpx.Timeout(seconds, connect=min(seconds, MAX_CONNECT_SECONDS))


# --- request bodies -----------------------------------------------------------------------


def create_key_body(api_id: str, plan: Plan, *, recoverable: bool) -> dict[str, object]:
    credits: dict[str, object] = {"remaining": plan.credits}
    if plan.refill is not None and plan.refill.interval is not RefillInterval.NONE:
        refill: dict[str, object] = {
            "interval": plan.refill.interval.value,
            "amount": plan.refill.amount,
        }
        if plan.refill.interval is RefillInterval.MONTHLY:
            refill["refillDay"] = plan.refill.day
        credits["refill"] = refill
    return {"apiId": api_id, "prefix": KEY_PREFIX, "credits": credits, "recoverable": recoverable}


def verify_body(key: str, cost: int) -> dict[str, object]:
    # No apiId in v2; an explicit cost, since omitting it charges 1.
    return {"key": key, "credits": {"cost": cost}}


def refund_body(key_id: str, amount: int) -> dict[str, object]:
    return {"keyId": key_id, "operation": "increment", "value": amount}


# --- response shapes ----------------------------------------------------------------------

T = TypeVar("T")


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


class RefillSetting(msgspec.Struct, rename="camel"):
    interval: str
    amount: int
    refill_day: int | None = None


class KeyCredits(msgspec.Struct):
    remaining: int | None = None
    refill: RefillSetting | None = None


class KeyDetails(msgspec.Struct, rename="camel"):
    key_id: str
    start: str
    credits: KeyCredits | None = None


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


def _decode(shape: type[T], content: bytes) -> T:
    decoder = _DECODERS.get(shape)
    if decoder is None:
        decoder = _DECODERS[shape] = msgspec.json.Decoder(Envelope[shape])  # type: ignore[valid-type]
    data: T = decoder.decode(content).data
    return data


class KeyMissing(Exception):
    """A 404 from an endpoint addressing a key by id: the key is gone."""


def read(endpoint: Endpoint, response: httpx.Response, shape: type[T]) -> T:
    """The `data` of a success, or raise: QuotaUnavailable, or KeyMissing (see Endpoint)."""
    status = response.status_code
    if 200 <= status < 300:
        try:
            return _decode(shape, response.content)
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
