-- queued or running → canceled by its owner, its refund owed. A running attempt no longer holds
-- the job (lib_fence.lua): it learns at its next lease renewal and stores nothing, and a result
-- it still reports is refused.
-- KEYS[1] job, KEYS[2] outbox, KEYS[3] refunds, KEYS[4] queue, KEYS[5] change channel,
-- KEYS[6] leases
-- ARGV: owner, error, now_iso, now_ms, job_id
--#include lib_job_change.lua
-- Returns nil (no such job of this owner) or {changed, job}.
--#include lib_webhook_event.lua
--#include lib_job_end.lua
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return nil end
if status ~= 'queued' and status ~= 'running' then return {0, redis.call('HGETALL', KEYS[1])} end
local k = {job = KEYS[1], outbox = KEYS[2], refunds = KEYS[3], queue = KEYS[4],
           channel = KEYS[5], leases = KEYS[6]}
end_owing_refund(k, ARGV[5], 'canceled', ARGV[2], ARGV[3], ARGV[4])
return {1, redis.call('HGETALL', KEYS[1])}
