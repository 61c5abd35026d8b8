-- Change a key's settings (never its balance): fields, and the plan index when the plan
-- changes.
--
-- ARGV[1]  <prefix>:quota:   ARGV[2] key id
-- ARGV[3..] fields to set, as name-value pairs
--
-- Returns the record's HGETALL after the change, or an empty list when the id is unknown.
--#include key_record.lua
local p = ARGV[1]
local record = key_record(p, ARGV[2])
if not record then
  return {}
end
local old_plan = redis.call('HGET', record, 'plan') or 'default'
local seq = redis.call('HGET', record, 'seq')
if #ARGV > 2 then
  redis.call('HSET', record, unpack(ARGV, 3))
end
local new_plan = redis.call('HGET', record, 'plan') or 'default'
if seq and new_plan ~= old_plan then
  redis.call('ZREM', p .. 'keys:plan:' .. old_plan, ARGV[2])
  redis.call('ZADD', p .. 'keys:plan:' .. new_plan, seq, ARGV[2])
end
return redis.call('HGETALL', record)
