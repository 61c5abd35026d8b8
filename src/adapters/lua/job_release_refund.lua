-- The refund could not be made: owe it again.
-- KEYS[1] job, KEYS[2] refunds, KEYS[3] change channel; ARGV: now_ms, job_id
--#include lib_job_change.lua
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'refund_claimed', '0', 'refunded', '0')
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
announce(KEYS[1], KEYS[3], ARGV[2], false)
return 1
