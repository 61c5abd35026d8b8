"""Keys and credits in Unkey (API v2, shared/UNKEY.md) over one keep-alive httpx client.

A charge is one `keys.verifyKey`. Its answer lacks the key's refill setting, which the API needs
for Retry-After and the RateLimit headers, so refill settings are cached per key id: filled at
mint (from the plan) and by `keys.getKey` otherwise, kept for REFILL_CACHE_SECONDS of the
injected clock. A cache miss costs one getKey after the verify; if that fails the charge still
stands (credits were taken) and is returned without its refill.

A charged verify is never retried: it is not idempotent. Only a connect failure, where the
request was certainly not sent, is retried once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

import anyio
import httpx

from adapters import unkey_protocol as unkey
from domain.errors import QuotaUnavailable
from domain.models import Charge, IssuedKey, KeyInfo, KeyStatus, Plan, Refill
from domain.ports import Clock

log = logging.getLogger("imagegate.unkey")

T = TypeVar("T")
REFILL_CACHE_SECONDS = 300
REFILL_CACHE_SIZE = 10_000


class _RefillCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[Refill | None, datetime]] = {}

    def get(self, key_id: str) -> tuple[bool, Refill | None]:
        entry = self._entries.get(key_id)
        if entry is None:
            return False, None
        refill, stored_at = entry
        age = self._clock.now() - stored_at
        return timedelta(0) <= age < timedelta(seconds=REFILL_CACHE_SECONDS), refill

    def put(self, key_id: str, refill: Refill | None) -> None:
        if len(self._entries) >= REFILL_CACHE_SIZE and key_id not in self._entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[key_id] = (refill, self._clock.now())

    def drop(self, key_id: str) -> None:
        self._entries.pop(key_id, None)


class UnkeyQuotaProvider:
    """QuotaProvider on Unkey. Call `aclose()` on shutdown to close the connection pool."""

    def __init__(
        self,
        *,
        base_url: str,
        root_key: str,
        api_id: str,
        timeout: float,
        clock: Clock,
        recoverable: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_id = api_id
        self._timeout = timeout
        self._recoverable = recoverable
        self._refills = _RefillCache(clock)
        self._client = httpx.AsyncClient(
            base_url=base_url,
            headers=unkey.headers(root_key),
            timeout=unkey.timeouts(timeout),
            limits=unkey.LIMITS,
            transport=transport,
        )

    async def mint(self, plan: Plan) -> IssuedKey:
        body = unkey.create_key_body(self._api_id, plan, recoverable=self._recoverable)
        created = await self._call(unkey.CREATE_KEY, body, unkey.CreatedKey)
        self._refills.put(created.key_id, plan.refill)
        return IssuedKey(key=created.key, key_id=created.key_id, credits=plan.credits)

    async def charge(self, key: str, cost: int) -> Charge:
        if cost < 0:
            raise ValueError("cost must be >= 0")
        verdict = await self._verify(key, cost)
        status, key_id = unkey.key_status(verdict), verdict.key_id
        refill = None
        if key_id is not None and status in (KeyStatus.VALID, KeyStatus.USAGE_EXCEEDED):
            refill = await self._refill_of(key_id)
        return Charge(status=status, key_id=key_id, remaining=verdict.credits, refill=refill)

    async def describe(self, key: str) -> KeyInfo | None:
        verdict = await self._verify(key, 0)
        if unkey.key_status(verdict) is not KeyStatus.VALID or verdict.key_id is None:
            return None
        details = await self._details(verdict.key_id)
        if details is None:
            return None
        refill = unkey.refill_of(details)
        self._refills.put(details.key_id, refill)
        return KeyInfo(details.key_id, details.start, verdict.credits, refill)

    async def refund(self, key_id: str, amount: int) -> None:
        if amount <= 0:
            return
        body = unkey.refund_body(key_id, amount)
        try:
            await self._call(unkey.UPDATE_CREDITS, body, unkey.KeyCredits)
        except unkey.KeyMissing:
            log.warning("refund of %d credits to unknown or deleted key %s skipped", amount, key_id)

    async def revoke(self, key_id: str) -> None:
        self._refills.drop(key_id)
        try:
            await self._call(unkey.DELETE_KEY, {"keyId": key_id}, unkey.Empty)
        except unkey.KeyMissing:
            log.info("revoking %s: already gone", key_id)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _verify(self, key: str, cost: int) -> unkey.Verification:
        body = unkey.verify_body(key, cost)
        return await self._call(unkey.VERIFY_KEY, body, unkey.Verification)

    async def _details(self, key_id: str) -> unkey.KeyDetails | None:
        try:
            return await self._call(unkey.GET_KEY, {"keyId": key_id}, unkey.KeyDetails)
        except unkey.KeyMissing:
            return None

    async def _refill_of(self, key_id: str) -> Refill | None:
        fresh, refill = self._refills.get(key_id)
        if fresh:
            return refill
        try:
            details = await self._details(key_id)
        except QuotaUnavailable:
            return refill  # the charge happened; answer it, with the stale setting if any
        refill = unkey.refill_of(details) if details else None
        self._refills.put(key_id, refill)
        return refill

    async def _call(self, endpoint: unkey.Endpoint, body: dict[str, object], shape: type[T]) -> T:
        try:
            with anyio.fail_after(self._timeout):
                response = await _once_more_on_connect_error(
                    endpoint, lambda: self._client.post(endpoint.path, json=body)
                )
        except (httpx.HTTPError, TimeoutError) as exc:
            raise unkey.unreachable(endpoint, exc) from None
        return unkey.read(endpoint, response, shape)


async def _once_more_on_connect_error(
    endpoint: unkey.Endpoint, send: Callable[[], Awaitable[httpx.Response]]
) -> httpx.Response:
    try:
        return await send()
    except httpx.ConnectError:
        log.info("Unkey %s: connect failed, retrying once", endpoint.name)
        return await send()


class UnkeyCreditRefunder:
    """The worker's CreditRefunder on Unkey (`keys.updateCredits` increment), synchronous."""

    def __init__(
        self,
        *,
        base_url: str,
        root_key: str,
        timeout: float,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers=unkey.headers(root_key),
            timeout=unkey.timeouts(timeout),
            limits=unkey.LIMITS,
            transport=transport,
        )

    def refund(self, key_id: str, amount: int) -> None:
        if amount <= 0:
            return
        endpoint, body = unkey.UPDATE_CREDITS, unkey.refund_body(key_id, amount)
        try:
            try:
                response = self._client.post(endpoint.path, json=body)
            except httpx.ConnectError:
                log.info("Unkey %s: connect failed, retrying once", endpoint.name)
                response = self._client.post(endpoint.path, json=body)
        except httpx.HTTPError as exc:
            raise unkey.unreachable(endpoint, exc) from None
        try:
            unkey.read(endpoint, response, unkey.KeyCredits)
        except unkey.KeyMissing:
            log.warning("refund of %d credits to unknown or deleted key %s skipped", amount, key_id)

    def close(self) -> None:
        self._client.close()
