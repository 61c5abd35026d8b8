"""Lua for the job state machine. Every transition checks the current status first."""

# KEYS[1] job, KEYS[2] leases, KEYS[3] outbox
# ARGV: now_iso, now_ms, max_attempts, lease_until_ms, job_id
START = """
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
  return {'exhausted'}
end
if (redis.call('HGET', KEYS[1], 'started_at') or '') == '' then
  redis.call('HSET', KEYS[1], 'started_at', ARGV[1])
end
redis.call('HSET', KEYS[1], 'status', 'running', 'lease_until', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
redis.call('ZREM', KEYS[3], ARGV[5])
return {'claimed', redis.call('HGETALL', KEYS[1])}
"""

# KEYS[1] leases; ARGV: prefix, lease_until_ms, job ids…
RENEW = """
for i = 3, #ARGV do
  local key = ARGV[1] .. ':job:' .. ARGV[i]
  if redis.call('HGET', key, 'status') == 'running' then
    redis.call('HSET', key, 'lease_until', ARGV[2])
    redis.call('ZADD', KEYS[1], ARGV[2], ARGV[i])
  end
end
return 1
"""

# KEYS[1] job, KEYS[2] leases, KEYS[3] outbox; ARGV: error, due_ms, job_id
# The retry message is published after this; until a worker claims the job it stays in the
# outbox (due at the retry's countdown), so a crash before publishing is swept up.
REQUEUE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'queued', 'error', ARGV[1])
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] job, KEYS[2] leases; ARGV: images, now_iso, job_id
SUCCEED = """
if redis.call('HGET', KEYS[1], 'status') ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'succeeded', 'images', ARGV[1], 'finished_at', ARGV[2],
           'error', '')
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] job, KEYS[2] leases, KEYS[3] outbox, KEYS[4] refunds; ARGV: error, now_iso, now_ms, id
FAIL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status ~= 'queued' and status ~= 'running' then return nil end
redis.call('HSET', KEYS[1], 'status', 'failed', 'error', ARGV[1], 'finished_at', ARGV[2])
redis.call('HDEL', KEYS[1], 'lease_until')
redis.call('ZREM', KEYS[2], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
return redis.call('HGETALL', KEYS[1])
"""

# KEYS[1] job, KEYS[2] outbox, KEYS[3] refunds; ARGV: owner, error, now_iso, now_ms, job_id
CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if not status or redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] then return nil end
if status ~= 'queued' then return {0, redis.call('HGETALL', KEYS[1])} end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'error', ARGV[2], 'finished_at', ARGV[3])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return {1, redis.call('HGETALL', KEYS[1])}
"""

# Refund-once: whoever flips `refund_claimed` first gives the credits back.
# KEYS[1] job, KEYS[2] refunds; ARGV: job_id
CLAIM_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if redis.call('HGET', KEYS[1], 'refund_claimed') == '1' then return 0 end
local charged = redis.call('HGET', KEYS[1], 'charged')
redis.call('HSET', KEYS[1], 'refund_claimed', '1', 'refunded', charged)
redis.call('ZREM', KEYS[2], ARGV[1])
return tonumber(charged)
"""

# KEYS[1] job, KEYS[2] refunds; ARGV: now_ms, job_id
RELEASE_REFUND = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'refund_claimed', '0', 'refunded', '0')
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[2])
return 1
"""

# KEYS[1] leases, KEYS[2] outbox, KEYS[3] refunds
# ARGV: prefix, now_ms, now_iso, max_attempts, limit, worker_lost error
RECLAIM = """
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
    else
      redis.call('HSET', key, 'status', 'queued')
      redis.call('ZADD', KEYS[2], ARGV[2], id)
    end
    redis.call('HDEL', key, 'lease_until')
    table.insert(out, redis.call('HGETALL', key))
  end
end
return out
"""

# KEYS[1] outbox; ARGV: prefix, before_ms, limit. Drops entries whose job is no longer queued.
UNENQUEUED = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  if redis.call('HGET', ARGV[1] .. ':job:' .. id, 'status') == 'queued' then
    table.insert(out, id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

# KEYS[1] refunds; ARGV: prefix, before_ms, limit. Drops entries whose job expired.
REFUNDS_DUE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, ARGV[3])
local out = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HGETALL', ARGV[1] .. ':job:' .. id)
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    table.insert(out, fields)
  end
end
return out
"""
