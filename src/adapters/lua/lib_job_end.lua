-- A chunk: a job ends without images (failed, canceled, aborted) and its refund is owed (the
-- sweeper pays it, once). Its lease, outbox entry and queue place go; its webhook event is noted
-- and the change announced, all in the caller's atomic step. Include lib_job_change.lua and
-- lib_webhook_event.lua before it.
-- k: {job, leases, outbox, refunds, queue, channel} (keys); now_ms scores the refund.
local function end_owing_refund(k, id, status, error, now_iso, now_ms)
  redis.call('HSET', k.job, 'status', status, 'error', error, 'finished_at', now_iso)
  redis.call('HDEL', k.job, 'lease_until')
  redis.call('ZREM', k.leases, id)
  redis.call('ZREM', k.outbox, id)
  redis.call('ZADD', k.refunds, now_ms, id)
  webhook_event(k.job, id, status)
  announce(k.job, k.channel, id, dequeue(k.queue, id))
end
