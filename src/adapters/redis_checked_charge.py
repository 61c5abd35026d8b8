"""The local store's charge with Unkey's key checks: not found -> disabled -> expired -> credits.

Until quota_charge.lua checks `enabled` and `expires_at` itself (it takes the caller's clock as
a fifth argument for that), this wraps it: the checks chunk runs first and a refused key answers
DISABLED or EXPIRED with the charge script's reply shape, having changed nothing.
"""

from __future__ import annotations

from datetime import datetime

from redis.commands.core import AsyncScript

from adapters.redis_ledger import lua_chunks, ms
from adapters.redis_quota import CHARGE_LUA, RedisQuotaProvider
from domain.models import Charge

# KEYS[1], ARGV[1..4] as quota_charge.lua; ARGV[5] now (epoch ms).
CHECKED_CHARGE_LUA = (
    lua_chunks("key_checks.lua")
    + "\nlocal function charge()\n"
    + CHARGE_LUA
    + """
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  local refusal = key_refusal(KEYS[1], ARGV[5])
  if refusal then
    local f = redis.call('HMGET', KEYS[1], 'id', 'remaining', 'interval', 'amount', 'day',
      'start')
    return {refusal, f[1], f[2], f[3], f[4], f[5], f[6]}
  end
end
return charge()
"""
)


async def checked_charge(
    quota: RedisQuotaProvider, script: AsyncScript, key: str, cost: int, now: datetime
) -> Charge:
    """`script` is CHECKED_CHARGE_LUA registered on the provider's client."""
    return await quota.charge_with(key, cost, script, [], [ms(now)])
