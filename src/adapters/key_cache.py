"""A QuotaProvider decorator that remembers, for a few seconds, which key id a key resolves to.

Every authenticated read (a poll, a list, an image) resolves its key with a zero-cost charge:
one Lua call for the local store, one HTTPS call for Unkey. Here a key that resolved within the
last `ttl` seconds resolves from memory, so a poll is one HGETALL. Only zero-cost charges are
answered from the cache; anything that spends credits, and `describe` (`/v1/me`), always asks
the provider.

The price, and it is documented: a key revoked through another API process keeps reading its
own jobs on this one for up to `ttl` seconds (revocation through this process takes effect at
once), and the `RateLimit` header on such reads shows the balance as of that resolution. Entries
are keyed by the SHA-256 of the key — the raw key is not kept — and bounded in number.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable

from cachetools import TTLCache

from domain.models import Charge, IssuedKey, KeyInfo, Plan
from domain.ports import QuotaProvider


class KeyCachingQuotaProvider:
    """QuotaProvider: zero-cost charges answered from memory; everything else forwarded."""

    def __init__(
        self,
        inner: QuotaProvider,
        *,
        ttl_seconds: float,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._inner = inner
        self._enabled = ttl_seconds > 0
        # The least recently used entry goes first once `max_entries` are held.
        self._entries: TTLCache[str, Charge] = TTLCache(
            max_entries, max(ttl_seconds, 0), timer=monotonic
        )

    async def charge(self, key: str, cost: int) -> Charge:
        if cost != 0 or not self._enabled:
            return await self._inner.charge(key, cost)
        digest = hashlib.sha256(key.encode()).hexdigest()
        held = self._entries.get(digest)
        if held is not None:
            return held
        charge = await self._inner.charge(key, 0)
        if charge.accepted and charge.key_id is not None:
            self._entries[digest] = charge
        else:
            self._entries.pop(digest, None)
        return charge

    async def revoke(self, key_id: str) -> None:
        await self._inner.revoke(key_id)
        with self._entries.timer:  # time stands still while we look: nothing expires mid-scan
            revoked = [d for d, c in self._entries.items() if c.key_id == key_id]
        for digest in revoked:
            self._entries.pop(digest, None)

    async def mint(self, plan: Plan) -> IssuedKey:
        return await self._inner.mint(plan)

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        await self._inner.refund(key_id, amount, job_id=job_id)

    async def describe(self, key: str) -> KeyInfo | None:
        return await self._inner.describe(key)

    async def aclose(self) -> None:
        await self._inner.aclose()
