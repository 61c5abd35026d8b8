-- Set, increment or decrement (clamped at 0) a key's balance, with its ledger entry.
--
-- ARGV[1]  <prefix>:quota:   ARGV[2] key id   ARGV[3] set | increment | decrement
-- ARGV[4]  value (>= 0)      ARGV[5] now (epoch ms)   ARGV[6] ledger ttl (s)
-- ARGV[7]  reason ('' none)
--
-- Returns {before, after}, or an empty list when the id is unknown.
--#include ledger_append.lua
--#include key_record.lua
local p = ARGV[1]
local record = key_record(p, ARGV[2])
if not record then
  return {}
end
local before = tonumber(redis.call('HGET', record, 'remaining'))
local value = tonumber(ARGV[4])
local after = value
if ARGV[3] == 'increment' then
  after = before + value
elseif ARGV[3] == 'decrement' then
  after = math.max(0, before - value)
end
redis.call('HSET', record, 'remaining', after)
ledger_append(p .. 'ledger:' .. ARGV[2], ARGV[5], ARGV[3], after - before, after, '', ARGV[7],
  ARGV[6])
return {before, after}
