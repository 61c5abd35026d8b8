-- Create a key: its record, its id index, the listing indexes and the ledger's mint entry.
--
-- KEYS[1]  the new record, <prefix>:quota:key:<digest>
-- ARGV[1]  <prefix>:quota:   ARGV[2] digest   ARGV[3] key id   ARGV[4] now (epoch ms)
-- ARGV[5]  ledger ttl (s)    ARGV[6] balance  ARGV[7] plan     ARGV[8] external id ('' none)
-- ARGV[9..] the record's other fields, as name-value pairs
--
-- Returns the listing sequence number given to the key.
--#include ledger_append.lua
local p = ARGV[1]
local seq = redis.call('INCR', p .. 'keys:seq')
redis.call('HSET', KEYS[1], 'id', ARGV[3], 'remaining', ARGV[6], 'plan', ARGV[7],
  'external_id', ARGV[8], 'seq', seq, unpack(ARGV, 9))
redis.call('SET', p .. 'id:' .. ARGV[3], ARGV[2])
redis.call('ZADD', p .. 'keys', seq, ARGV[3])
redis.call('ZADD', p .. 'keys:plan:' .. ARGV[7], seq, ARGV[3])
if ARGV[8] ~= '' then
  redis.call('ZADD', p .. 'keys:ext:' .. ARGV[8], seq, ARGV[3])
end
ledger_append(p .. 'ledger:' .. ARGV[3], ARGV[4], 'mint', ARGV[6], ARGV[6], '', '', ARGV[5])
return seq
