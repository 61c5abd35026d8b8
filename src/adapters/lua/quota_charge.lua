-- Verify a key and charge it, after applying any refill that is due: one atomic step.
--
-- KEYS[1]  the key's record (a hash, named after the SHA-256 of the key)
-- ARGV[1]  cost (an integer >= 0)
-- ARGV[2]  the refill interval the caller assumed: "daily", "monthly" or "none"
-- ARGV[3]  the refill day the caller assumed (monthly only)
-- ARGV[4]  the latest refill boundary under that assumption, epoch seconds ("" for none)
--
-- Returns {status, key_id, remaining, interval, amount, day, start}. status is VALID,
-- USAGE_EXCEEDED, NOT_FOUND (then nothing else), or STALE_REFILL when the caller assumed the
-- wrong refill setting: then nothing changed and the caller retries with the real one.
local record = KEYS[1]
local f = redis.call('HMGET', record, 'id', 'remaining', 'interval', 'amount', 'day',
  'refilled_at', 'start')
local key_id = f[1]
if not key_id then
  return {'NOT_FOUND'}
end
local remaining = tonumber(f[2])
local interval, amount, day, start = f[3], tonumber(f[4]), tonumber(f[5]), f[7]

if interval ~= 'none' then
  if interval ~= ARGV[2] or (interval == 'monthly' and day ~= tonumber(ARGV[3])) then
    return {'STALE_REFILL', key_id, remaining, interval, amount, day, start}
  end
  local boundary = tonumber(ARGV[4])
  if boundary > tonumber(f[6]) then
    -- A refill sets the balance to the amount; it never adds, and never lowers a top-up.
    if remaining < amount then
      remaining = amount
      redis.call('HSET', record, 'remaining', remaining)
    end
    redis.call('HSET', record, 'refilled_at', boundary)
  end
end

local cost = tonumber(ARGV[1])
if remaining < cost then
  return {'USAGE_EXCEEDED', key_id, remaining, interval, amount, day, start}
end
if cost > 0 then
  remaining = redis.call('HINCRBY', record, 'remaining', -cost)
end
return {'VALID', key_id, remaining, interval, amount, day, start}
