"""The local store's charge and refund as the Operators section wants them, composed around the
existing scripts until quota_charge.lua and quota_refund.lua do this themselves:

- a charge checks the key as Unkey does — not found -> disabled -> expired -> credits — and a
  refused key answers DISABLED or EXPIRED with the charge script's reply shape, changing
  nothing;
- a charge that applies a refill writes a `refill` entry (the delta), and a charge that takes
  credits a `charge` entry; a refund writes a `refund` entry: each in the same script as the
  balance change, so a key's ledger keeps summing to its balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.commands.core import AsyncScript

from adapters.redis_ledger import DAY_SECONDS, LEDGER_APPEND_LUA, lua_chunks, ms
from adapters.redis_quota import CHARGE_LUA, REFUND_LUA, RedisQuotaProvider
from domain.models import Charge

# KEYS[1], ARGV[1..4] as quota_charge.lua; ARGV[5] now (epoch ms), ARGV[6] the ledger prefix
# (<prefix>:quota:ledger:), ARGV[7] ledger ttl (s), ARGV[8] the job's id ('' none).
LEDGERED_CHARGE_LUA = (
    lua_chunks("key_checks.lua")
    + LEDGER_APPEND_LUA
    + "\nlocal function charge()\n"
    + CHARGE_LUA
    + """
end
local before = redis.call('HMGET', KEYS[1], 'remaining', 'refilled_at')
if before[1] then
  local refusal = key_refusal(KEYS[1], ARGV[5])
  if refusal then
    local f = redis.call('HMGET', KEYS[1], 'id', 'remaining', 'interval', 'amount', 'day',
      'start')
    return {refusal, f[1], f[2], f[3], f[4], f[5], f[6]}
  end
end
local verdict = charge()
if verdict[1] == 'VALID' or verdict[1] == 'USAGE_EXCEEDED' then
  local stream = ARGV[6] .. verdict[2]
  local balance = tonumber(verdict[3])
  local cost = 0
  if verdict[1] == 'VALID' then
    cost = tonumber(ARGV[1])
  end
  local refilled = balance + cost - tonumber(before[1])
  if redis.call('HGET', KEYS[1], 'refilled_at') ~= before[2] and refilled > 0 then
    ledger_append(stream, ARGV[5], 'refill', refilled, balance + cost, '', '', ARGV[7])
  end
  if cost > 0 then
    ledger_append(stream, ARGV[5], 'charge', -cost, balance, ARGV[8], '', ARGV[7])
  end
end
return verdict
"""
)

# KEYS[1], ARGV[1..2] as quota_refund.lua; ARGV[3] now (epoch ms), ARGV[4] the key's ledger,
# ARGV[5] ledger ttl (s), ARGV[6] the job's id ('' none).
LEDGERED_REFUND_LUA = (
    LEDGER_APPEND_LUA
    + "\nlocal function refund()\n"
    + REFUND_LUA
    + """
end
local balance = refund()
if balance and tonumber(ARGV[2]) > 0 then
  ledger_append(ARGV[4], ARGV[3], 'refund', ARGV[2], balance, ARGV[6], '', ARGV[5])
end
return balance
"""
)


@dataclass(frozen=True, slots=True)
class LedgeredQuota:
    """Charge and refund on the local store with key checks and ledger entries. The scripts
    are LEDGERED_CHARGE_LUA and LEDGERED_REFUND_LUA registered on the provider's client."""

    quota: RedisQuotaProvider
    charge_script: AsyncScript
    refund_script: AsyncScript
    key_prefix: str = "ig"
    ledger_ttl_days: int = 90

    async def charge(self, key: str, cost: int, now: datetime, job_id: str = "") -> Charge:
        args = [ms(now), self._ledger_prefix, self._ttl, job_id]
        return await self.quota.charge_with(key, cost, self.charge_script, [], args)

    async def refund(self, key_id: str, amount: int, now: datetime, job_id: str = "") -> int | None:
        index = f"{self.key_prefix}:quota:id:{key_id}"
        args: list[str | int] = [f"{self.key_prefix}:quota:key:", amount, ms(now)]
        args += [self._ledger_prefix + key_id, self._ttl, job_id]
        balance = await self.refund_script(keys=[index], args=args)
        return None if balance is None else int(balance)

    @property
    def _ledger_prefix(self) -> str:
        return f"{self.key_prefix}:quota:ledger:"

    @property
    def _ttl(self) -> int:
        return self.ledger_ttl_days * DAY_SECONDS
