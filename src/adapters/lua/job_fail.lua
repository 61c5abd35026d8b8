-- → failed, its refund owed. By the attempt that holds the job (ARGV[1] its number), or, with
-- ARGV[1] = '', a job no attempt holds (queued, or running on an expired lease): one whose
-- attempts are used up.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] outbox, KEYS[4] refunds, KEYS[5] queue, KEYS[6] channel
-- ARGV: attempt or '', error, now_iso, now_ms, job_id
--#include lib_webhook_event.lua
--#include lib_fence.lua
--#include lib_job_change.lua
if ARGV[1] == '' then
  local status = redis.call('HGET', KEYS[1], 'status')
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
  if status ~= 'queued' and not (status == 'running' and lease <= tonumber(ARGV[4])) then
    return nil
  end
elseif not holds(KEYS[1], ARGV[1]) then
  return nil
end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[2], 'finished_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[5])
webhook_event(KEYS[1], ARGV[5], 'failed')
announce(KEYS[1], KEYS[6], ARGV[5], dequeue(KEYS[5], ARGV[5]))
return redis.call('HGETALL', KEYS[1])
