-- Claim a job: queued (or running with an expired lease) → running, attempts + 1, leased.
-- The new attempt number is the fence every later transition of this attempt must show.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] outbox, KEYS[4] queue, KEYS[5] change channel
-- ARGV: now_iso, now_ms, max_attempts, lease_until_ms, job_id
-- Returns {'claimed', job}, {'exhausted', job}, {'busy'} or {'finished'}.
--#include lib_webhook_event.lua
--#include lib_job_change.lua
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'finished'} end
if status == 'running' then
  if tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0') > tonumber(ARGV[2]) then
    return {'busy'}
  end
elseif status ~= 'queued' then
  return {'finished'}
end
if tonumber(redis.call('HGET', KEYS[1], 'attempts')) >= tonumber(ARGV[3]) then
  return {'exhausted', redis.call('HGETALL', KEYS[1])}
end
if (redis.call('HGET', KEYS[1], 'started_at') or '') == '' then
  -- started_ms: what the succeed step measures the run from (the ETA's recent runs)
  redis.call('HSET', KEYS[1], 'started_at', ARGV[1], 'started_ms', ARGV[2])
end
redis.call('HSET', KEYS[1], 'status', 'running', 'lease_until', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[5])
webhook_event(KEYS[1], ARGV[5], 'running')
announce(KEYS[1], KEYS[5], ARGV[5], dequeue(KEYS[4], ARGV[5]))
return {'claimed', redis.call('HGETALL', KEYS[1])}
