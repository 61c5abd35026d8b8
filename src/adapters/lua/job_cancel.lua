-- queued or running → canceled by its owner, its refund owed. A running attempt no longer holds
-- the job (lib_fence.lua): it learns at its next lease renewal and stores nothing, and a result
-- it still reports is refused.
-- KEYS[1] job, KEYS[2] outbox, KEYS[3] refunds, KEYS[4] queue, KEYS[5] change channel,
-- KEYS[6] leases
-- ARGV: owner, error, now_iso, now_ms, job_id
--#include lib_job_change.lua
-- Returns nil (no such job of this owner) or {changed, job}.
--#include lib_webhook_event.lua
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return nil end
if status ~= 'queued' and status ~= 'running' then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'error', ARGV[2], 'finished_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[6], ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
webhook_event(KEYS[1], ARGV[5], 'canceled')
announce(KEYS[1], KEYS[5], ARGV[5], dequeue(KEYS[4], ARGV[5]))
return {1, redis.call('HGETALL', KEYS[1])}
