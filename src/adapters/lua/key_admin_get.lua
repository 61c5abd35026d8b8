-- A key's record by its id.
--
-- ARGV[1]  <prefix>:quota:   ARGV[2] key id
--
-- Returns the record's HGETALL, or an empty list when the id is unknown.
--#include key_record.lua
local record = key_record(ARGV[1], ARGV[2])
if not record then
  return {}
end
return redis.call('HGETALL', record)
