-- Extend the leases of the attempts a worker runs; an attempt that lost its job is skipped.
-- KEYS[1] leases; ARGV: prefix, lease_until_ms, then job id and attempt pairs
-- Returns the job ids of the attempts that lost their job (canceled, past the deadline, taken
-- over), so their worker abandons them.
--#include lib_fence.lua
local lost = {}
for i = 3, #ARGV, 2 do
  local job = ARGV[1] .. ':job:' .. ARGV[i]
  if holds(job, ARGV[i + 1]) then
    redis.call('HSET', job, 'lease_until', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
