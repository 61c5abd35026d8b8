-- Extend the leases of the attempts a worker runs; an attempt that lost its job is skipped.
-- KEYS[1] leases; ARGV: prefix, lease_until_ms, then job id and attempt pairs
--#include lib_fence.lua
for i = 3, #ARGV, 2 do
  local job = ARGV[1] .. ':job:' .. ARGV[i]
  if holds(job, ARGV[i + 1]) then
    redis.call('HSET', job, 'lease_until', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  end
end
return 1
