-- Reroll a key: a new key (new id, new secret) with the old one's plan, settings and balance.
-- The balance moves by a `reroll` ledger entry on each key; the old key keeps authenticating
-- (with no credits and no refill) until its grace ends, then answers NOT_FOUND as Unkey's
-- revoked key does (`revoke_at`), and its record is deleted a while after that.
--
-- KEYS[1]  the new record, <prefix>:quota:key:<new digest>
-- ARGV[1]  <prefix>:quota:   ARGV[2] old key id   ARGV[3] new digest   ARGV[4] new key id
-- ARGV[5]  new start         ARGV[6] now (epoch ms)  ARGV[7] ledger ttl (s)
-- ARGV[8]  the old key's end of grace (epoch ms)     ARGV[9] seconds until the old record goes
-- ARGV[10] created_at of the new key (epoch s)
--
-- Returns the balance moved, or nil when the old id is unknown.
--#include ledger_append.lua
--#include key_record.lua
local p = ARGV[1]
local old, old_index = key_record(p, ARGV[2])
if not old then
  return nil
end
local fields = redis.call('HGETALL', old)
local copy, settings = {}, {}
for i = 1, #fields, 2 do
  settings[fields[i]] = fields[i + 1]
end
for name, value in pairs(settings) do
  if name ~= 'id' and name ~= 'start' and name ~= 'seq' and name ~= 'created_at' then
    copy[#copy + 1] = name
    copy[#copy + 1] = value
  end
end
local balance = tonumber(settings['remaining']) or 0
local seq = redis.call('INCR', p .. 'keys:seq')
redis.call('HSET', KEYS[1], 'id', ARGV[4], 'start', ARGV[5], 'seq', seq, 'created_at', ARGV[10],
  unpack(copy))
redis.call('SET', p .. 'id:' .. ARGV[4], ARGV[3])
local plan = settings['plan'] or 'default'
redis.call('ZADD', p .. 'keys', seq, ARGV[4])
redis.call('ZADD', p .. 'keys:plan:' .. plan, seq, ARGV[4])
if settings['external_id'] and settings['external_id'] ~= '' then
  redis.call('ZADD', p .. 'keys:ext:' .. settings['external_id'], seq, ARGV[4])
end

local ends = tonumber(ARGV[8])
local expires = tonumber(settings['expires_at'] or '')
if expires and expires < ends then
  ends = expires
end
redis.call('HSET', old, 'remaining', 0, 'interval', 'none', 'expires_at',
  string.format('%d', ends), 'revoke_at', ARGV[8])
redis.call('EXPIRE', old, ARGV[9])
redis.call('EXPIRE', old_index, ARGV[9])

ledger_append(p .. 'ledger:' .. ARGV[2], ARGV[6], 'reroll', -balance, 0, '',
  'rerolled to ' .. ARGV[4], ARGV[7])
ledger_append(p .. 'ledger:' .. ARGV[4], ARGV[6], 'reroll', balance, balance, '',
  'rerolled from ' .. ARGV[2], ARGV[7])
return balance
