-- A job whose submit was answered 503 although its admission may have run (the store went away
-- before the reply): queued or running → canceled, its refund owed, whoever owns it. Only the
-- API's DoubtfulAdmissions calls this, with the id it made for the draft.
-- KEYS[1] job, KEYS[2] outbox, KEYS[3] refunds, KEYS[4] queue, KEYS[5] change channel,
-- KEYS[6] leases
-- ARGV: error, now_iso, now_ms, job_id
--#include lib_job_change.lua
-- Returns nil (no such job, or it had ended already) or the job as it now is.
--#include lib_webhook_event.lua
--#include lib_job_end.lua
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'running' then return nil end
local k = {job = KEYS[1], outbox = KEYS[2], refunds = KEYS[3], queue = KEYS[4],
           channel = KEYS[5], leases = KEYS[6]}
end_owing_refund(k, ARGV[4], 'canceled', ARGV[1], ARGV[2], ARGV[3])
return redis.call('HGETALL', KEYS[1])
