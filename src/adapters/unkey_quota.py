"""Keys and credits in Unkey (API v2, shared/UNKEY.md) over one keep-alive httpx client.

A charge is one `keys.verifyKey`. Its answer lacks the key's refill setting, which the API needs
for Retry-After and the RateLimit headers, so refill settings are cached per key id: filled at
mint (from the plan) and by `keys.getKey` otherwise, kept for REFILL_CACHE_SECONDS of the
injected clock. A cache miss costs one getKey after the verify; if that fails the charge still
stands (credits were taken) and is returned without its refill.

The key's plan comes with the verify, from its `meta.plan` (set at mint and by the operator
API; a key without one is on `default`), so the operator's credit alerts use its own plan.

A credential longer than Unkey's verify schema admits is an unknown key, answered without a
call (Unkey would refuse the request with a 400, which reads as an outage).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import httpx

from adapters import unkey_protocol as unkey
from adapters.unkey_admin_protocol import PLAN_META
from adapters.unkey_http import AsyncUnkey, SyncUnkey
from domain.errors import QuotaUnavailable
from domain.models import Charge, IssuedKey, KeyInfo, KeyStatus, Plan, Refill
from domain.ports import Clock

log = logging.getLogger("imagegate.unkey")

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
        self._recoverable = recoverable
        self._refills = _RefillCache(clock)
        self._unkey = AsyncUnkey(
            base_url=base_url, root_key=root_key, timeout=timeout, transport=transport
        )

    async def mint(self, plan: Plan) -> IssuedKey:
        body = unkey.create_key_body(self._api_id, plan, recoverable=self._recoverable)
        body["meta"] = {PLAN_META: plan.name}  # as an operator's key: listed under its plan
        created = await self._unkey.run(unkey.call(unkey.CREATE_KEY, body, unkey.CreatedKey))
        self._refills.put(created.key_id, plan.refill)
        return IssuedKey(key=created.key, key_id=created.key_id, credits=plan.credits)

    async def charge(self, key: str, cost: int) -> Charge:
        if cost < 0:
            raise ValueError("cost must be >= 0")
        if not unkey.verifiable(key):
            return Charge(KeyStatus.NOT_FOUND)  # Unkey would answer 400, not a verdict
        verdict = await self._unkey.run(unkey.verify(key, cost))
        status, key_id = unkey.key_status(verdict), verdict.key_id
        refill = None
        if key_id is not None and status in (KeyStatus.VALID, KeyStatus.USAGE_EXCEEDED):
            refill = await self._refill_of(key_id)
        return Charge(
            status=status,
            key_id=key_id,
            remaining=verdict.credits,
            refill=refill,
            plan=_plan_of(verdict) if key_id is not None else None,
        )

    async def describe(self, key: str) -> KeyInfo | None:
        if not unkey.verifiable(key):
            return None
        verdict = await self._unkey.run(unkey.verify(key, 0))
        if unkey.key_status(verdict) is not KeyStatus.VALID or verdict.key_id is None:
            return None
        details = await self._unkey.run(unkey.get_key(verdict.key_id))
        if details is None:
            return None
        refill = unkey.refill_of(details)
        self._refills.put(details.key_id, refill)
        return KeyInfo(details.key_id, details.start, verdict.credits, refill)

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        if amount > 0:
            await self._unkey.run(unkey.refund(key_id, amount))

    async def revoke(self, key_id: str) -> None:
        self._refills.drop(key_id)
        if await self._unkey.run(unkey.delete_key(key_id)) is None:
            log.info("revoking %s: already gone", key_id)

    async def aclose(self) -> None:
        await self._unkey.aclose()

    async def _refill_of(self, key_id: str) -> Refill | None:
        fresh, refill = self._refills.get(key_id)
        if fresh:
            return refill
        try:
            details = await self._unkey.run(unkey.get_key(key_id))
        except QuotaUnavailable:
            return refill  # the charge happened; answer it, with the stale setting if any
        refill = unkey.refill_of(details) if details else None
        self._refills.put(key_id, refill)
        return refill


def _plan_of(verdict: unkey.Verification) -> str:
    named = (verdict.meta or {}).get(PLAN_META)
    return named if isinstance(named, str) else Plan(credits=0, refill=None).name


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
        self._unkey = SyncUnkey(
            base_url=base_url, root_key=root_key, timeout=timeout, transport=transport
        )

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        if amount > 0:
            self._unkey.run(unkey.refund(key_id, amount))

    def close(self) -> None:
        self._unkey.close()
