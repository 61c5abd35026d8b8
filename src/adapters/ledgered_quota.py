"""The credit ledger for a provider that keeps balances elsewhere (Unkey): imagegate appends
an entry for each change it makes, after the provider's answer, into the Redis ledger.

Unlike the local store's (written in the same script as the change), these entries are best
effort: a crash between the provider's answer and the append loses the entry, and a refill the
provider applies on its own is not seen. The refund's entry is made once because the refund
is: the job's refund claim (domain/refunds.py) runs it at most once.
"""

from __future__ import annotations

import logging

import redis

from adapters.redis_ledger import DAY_SECONDS, ms
from adapters.redis_ops import load_script
from domain.models import Charge, IssuedKey, KeyInfo, Plan
from domain.operators import CreditLedger, LedgerEntry, LedgerKind
from domain.ports import Clock, CreditRefunder, QuotaProvider

log = logging.getLogger("imagegate.quota")


class LedgeredQuotaProvider:
    """A QuotaProvider that records mint, charge and refund in `ledger`."""

    def __init__(self, inner: QuotaProvider, ledger: CreditLedger, clock: Clock) -> None:
        self._inner, self._ledger, self._clock = inner, ledger, clock

    async def mint(self, plan: Plan) -> IssuedKey:
        issued = await self._inner.mint(plan)
        await self._append(issued.key_id, LedgerKind.MINT, issued.credits, issued.credits)
        return issued

    async def charge(self, key: str, cost: int) -> Charge:
        charge = await self._inner.charge(key, cost)
        if charge.accepted and cost > 0 and charge.key_id is not None:
            await self._append(charge.key_id, LedgerKind.CHARGE, -cost, charge.remaining)
        return charge

    async def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        await self._inner.refund(key_id, amount, job_id=job_id)
        if amount > 0:
            await self._append(key_id, LedgerKind.REFUND, amount, None, job_id)

    async def describe(self, key: str) -> KeyInfo | None:
        return await self._inner.describe(key)

    async def revoke(self, key_id: str) -> None:
        await self._inner.revoke(key_id)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def _append(
        self, key_id: str, kind: LedgerKind, credits: int, balance: int | None,
        job_id: str | None = None,
    ) -> None:  # fmt: skip
        entry = LedgerEntry(self._clock.now(), kind, credits, balance, job_id)
        try:
            await self._ledger.append(key_id, entry)
        except redis.RedisError as exc:  # the change happened: answer it, lose only the entry
            log.warning("ledger entry %s for %s not written: %r", kind.value, key_id, exc)


class LedgeredCreditRefunder:
    """The worker's refunder on such a provider: the refund, then its ledger entry."""

    def __init__(
        self, inner: CreditRefunder, client: redis.Redis, clock: Clock, *, ttl_days: int = 90
    ) -> None:
        self._inner, self._clock = inner, clock
        self._prefix = "ig:quota:ledger:"
        self._ttl_seconds = ttl_days * DAY_SECONDS
        self._append = client.register_script(load_script("ledger_write.lua"))

    def refund(self, key_id: str, amount: int, *, job_id: str | None = None) -> None:
        self._inner.refund(key_id, amount, job_id=job_id)
        if amount <= 0:
            return
        at, kind = ms(self._clock.now()), LedgerKind.REFUND.value
        args: list[str | int] = [at, kind, amount, "", job_id or "", "", self._ttl_seconds]
        try:
            self._append(keys=[self._prefix + key_id], args=args)
        except redis.RedisError as exc:
            log.warning("ledger entry refund for %s not written: %r", key_id, exc)
