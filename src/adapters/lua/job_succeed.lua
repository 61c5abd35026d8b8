-- running → succeeded with the attempt's images; only by the attempt that holds the job.
-- Also pushes the run's duration (since the first claim) onto the recent runs the queue ETA
-- reads (adapters/redis_queue_place.py), capped: one round trip for both.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] change channel, KEYS[4] recent run seconds
-- ARGV: attempt, images, now_iso, job_id, now_ms, how many recent runs to keep
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
local started = tonumber(redis.call('HGET', KEYS[1], 'started_ms') or '')
if started then  -- absent on a job claimed before this field existed: no sample
  redis.call('LPUSH', KEYS[4], string.format('%.3f', (tonumber(ARGV[5]) - started) / 1000))
  redis.call('LTRIM', KEYS[4], 0, tonumber(ARGV[6]) - 1)
end
return redis.call('HGETALL', KEYS[1])
