-- → failed, its refund owed. By the attempt that holds the job (ARGV[1] its number), or, with
-- ARGV[1] = '', a job no attempt holds (queued, or running on an expired lease): one whose
-- attempts are used up.
-- KEYS[1] job, KEYS[2] leases, KEYS[3] outbox, KEYS[4] refunds, KEYS[5] queue, KEYS[6] channel
-- ARGV: attempt or '', error, now_iso, now_ms, job_id
--#include lib_webhook_event.lua
--#include lib_fence.lua
--#include lib_job_change.lua
--#include lib_job_end.lua
if ARGV[1] == '' then
  local status = redis.call('HGET', KEYS[1], 'status')
  local lease = tonumber(redis.call('HGET', KEYS[1], 'lease_until') or '0')
  if status ~= 'queued' and not (status == 'running' and lease <= tonumber(ARGV[4])) then
    return nil
  end
elseif not holds(KEYS[1], ARGV[1]) then
  return nil
end
local k = {job = KEYS[1], leases = KEYS[2], outbox = KEYS[3], refunds = KEYS[4],
           queue = KEYS[5], channel = KEYS[6]}
end_owing_refund(k, ARGV[5], 'failed', ARGV[2], ARGV[3], ARGV[4])
return redis.call('HGETALL', KEYS[1])
