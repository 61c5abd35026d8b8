-- Jobs whose lease expired lost their worker: back to queued (into the outbox) while attempts
-- remain, else failed as worker_lost (refund owed). The attempt count stays, so the lost
-- attempt no longer holds the job (lib_fence.lua) even before another attempt claims it.
-- KEYS[1] leases, KEYS[2] outbox, KEYS[3] refunds, KEYS[4] queue, KEYS[5] its sequence,
-- KEYS[6] change channel
--#include lib_job_change.lua
-- ARGV: prefix, now_ms, now_iso, max_attempts, limit, worker_lost error
--#include lib_webhook_event.lua
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[5])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. ':job:' .. id
  local lease = tonumber(redis.call('HGET', key, 'lease_until') or '0')
  if redis.call('HGET', key, 'status') == 'running' and lease <= tonumber(ARGV[2]) then
    if tonumber(redis.call('HGET', key, 'attempts')) >= tonumber(ARGV[4]) then
      redis.call('HSET', key, 'status', 'failed', 'error', ARGV[6], 'finished_at', ARGV[3])
      redis.call('ZADD', KEYS[3], ARGV[2], id)
      webhook_event(key, id, 'failed')
    else
      redis.call('HSET', key, 'status', 'queued')
      redis.call('ZADD', KEYS[2], ARGV[2], id)
      enqueue(KEYS[4], KEYS[5], id)
    end
    redis.call('HDEL', key, 'lease_until')
    announce(key, KEYS[6], id, false)
    table.insert(out, redis.call('HGETALL', key))
  end
end
return out
