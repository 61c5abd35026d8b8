-- running → queued, to be retried at due_ms; only by the attempt that holds the job.
-- The job stays in the outbox (due at the retry's countdown) until a worker claims it, so a
-- crash before the retry message is published is swept up.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] outbox, KEYS[4] queue, KEYS[5] its sequence,
-- KEYS[6] change channel; ARGV: attempt, error, due_ms, job_id
--#include lib_fence.lua
--#include lib_job_change.lua
if not holds(KEYS[1], ARGV[1]) then return nil end
redis.call('HSET', KEYS[1], 'status', 'queued', 'error', ARGV[2])
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
enqueue(KEYS[4], KEYS[5], ARGV[4])  -- the back of the line
announce(KEYS[1], KEYS[6], ARGV[4], false)
return redis.call('HGETALL', KEYS[1])
