-- A chunk: charge(record, cost, interval, day, boundary, now_ms, ledger, ttl, job_id) checks a
-- key and charges it, after applying any refill that is due. Included by quota_charge.lua and
-- job_admit.lua.
--
-- record   the key's record (a hash, named after the SHA-256 of the key)
-- cost     an integer >= 0
-- interval the refill interval the caller assumed: "daily", "monthly" or "none"
-- day      the refill day the caller assumed (monthly only)
-- boundary the latest refill boundary under that assumption, epoch seconds ("" for none)
-- now_ms   the caller's clock, epoch ms (expiry and ledger entries follow it)
-- ledger   the prefix of ledger streams, <prefix>:quota:ledger: (the key id is appended)
-- ttl      the ledger's retention, seconds
-- job_id   the job charged for ('' none), kept on the charge entry
--
-- The checks run in Unkey's order: not found -> disabled -> expired -> credits. A refill and a
-- charge each append their ledger entry here, in the same atomic step as the balance change,
-- so a key's entries keep summing to its balance.
--
-- Returns {status, key_id, remaining, interval, amount, day, start, plan} (a record without a
-- plan field is on 'default', as in the key admin scripts). status is VALID,
-- USAGE_EXCEEDED, DISABLED, EXPIRED, NOT_FOUND (then nothing else), or STALE_REFILL when the
-- caller assumed the wrong refill setting: then nothing changed and the caller retries with the
-- real one.
--#include key_checks.lua
--#include ledger_append.lua
local function charge(record, cost, interval_assumed, day_assumed, boundary, now_ms, ledger, ttl,
                      job_id)
  local f = redis.call('HMGET', record, 'id', 'remaining', 'interval', 'amount', 'day',
    'refilled_at', 'start', 'plan')
  local key_id = f[1]
  if not key_id then
    return {'NOT_FOUND'}
  end
  local remaining = tonumber(f[2])
  local interval, amount, day, start = f[3], tonumber(f[4]), tonumber(f[5]), f[7]
  local plan = f[8] or 'default'

  local refusal = key_refusal(record, now_ms)
  if refusal then
    return {refusal, key_id, remaining, interval, amount, day, start, plan}
  end

  local stream = ledger .. key_id
  if interval ~= 'none' then
    local assumed_day = tonumber(day_assumed)
    if interval ~= interval_assumed or (interval == 'monthly' and day ~= assumed_day) then
      return {'STALE_REFILL', key_id, remaining, interval, amount, day, start, plan}
    end
    boundary = tonumber(boundary)
    if boundary > tonumber(f[6]) then
      -- A refill sets the balance to the amount; it never adds, and never lowers a top-up.
      if remaining < amount then
        ledger_append(stream, now_ms, 'refill', amount - remaining, amount, '', '', ttl)
        remaining = amount
        redis.call('HSET', record, 'remaining', remaining)
      end
      redis.call('HSET', record, 'refilled_at', boundary)
    end
  end

  cost = tonumber(cost)
  if remaining < cost then
    return {'USAGE_EXCEEDED', key_id, remaining, interval, amount, day, start, plan}
  end
  if cost > 0 then
    remaining = redis.call('HINCRBY', record, 'remaining', -cost)
    ledger_append(stream, now_ms, 'charge', -cost, remaining, job_id, '', ttl)
  end
  return {'VALID', key_id, remaining, interval, amount, day, start, plan}
end
