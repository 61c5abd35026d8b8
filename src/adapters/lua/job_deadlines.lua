-- Jobs past their deadline: still queued → aborted, still running → canceled (the running
-- attempt no longer holds the job: lib_fence.lua), both with `deadline_exceeded` and their
-- refund owed; a job that ended meanwhile just leaves the index.
-- KEYS[1] deadlines (ZSET job → deadline ms), KEYS[2] leases, KEYS[3] outbox, KEYS[4] refunds,
-- KEYS[5] queue, KEYS[6] change channel
-- ARGV: prefix, now_ms, now_iso, limit, error. Returns the jobs it ended.
--#include lib_job_change.lua
--#include lib_webhook_event.lua
--#include lib_job_end.lua
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[4])
local out = {}
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  local key = ARGV[1] .. ':job:' .. id
  local status = redis.call('HGET', key, 'status')
  if status == 'queued' or status == 'running' then
    local ended = status == 'queued' and 'aborted' or 'canceled'
    local k = {job = key, leases = KEYS[2], outbox = KEYS[3], refunds = KEYS[4],
               queue = KEYS[5], channel = KEYS[6]}
    end_owing_refund(k, id, ended, ARGV[5], ARGV[3], ARGV[2])
    table.insert(out, redis.call('HGETALL', key))
  end
end
return out
