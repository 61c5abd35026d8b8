-- running → succeeded with the attempt's images; only by the attempt that holds the job.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] change channel; ARGV: attempt, images, now_iso, job_id
--#include lib_webhook_event.lua
--#include lib_fence.lua
--#include lib_job_change.lua
if not holds(KEYS[1], ARGV[1]) then return nil end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'images', ARGV[2], 'finished_at', ARGV[3],
           'error', '')
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[4])
webhook_event(KEYS[1], ARGV[4], 'succeeded')
announce(KEYS[1], KEYS[3], ARGV[4], false)
return redis.call('HGETALL', KEYS[1])
