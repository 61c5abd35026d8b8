-- Revoke a key by its id: its record, its id index and its listing entries. Its ledger stays
-- until it expires (LEDGER_TTL_DAYS), for the record.
--
-- ARGV[1]  <prefix>:quota:   ARGV[2] key id
--
-- Returns 1 when a key was revoked, 0 when the id was unknown.
--#include key_record.lua
local p = ARGV[1]
local record, index = key_record(p, ARGV[2])
if not record then
  return 0
end
local f = redis.call('HMGET', record, 'plan', 'external_id')
redis.call('DEL', record, index)
redis.call('ZREM', p .. 'keys', ARGV[2])
redis.call('ZREM', p .. 'keys:plan:' .. (f[1] or 'default'), ARGV[2])
if f[2] and f[2] ~= '' then
  redis.call('ZREM', p .. 'keys:ext:' .. f[2], ARGV[2])
end
return 1
