-- A chunk: what every job transition does in its own atomic step, so a waiter (SSE, long-poll)
-- is woken by the change itself and a queue position never disagrees with the status.
-- announce: bump the job's `version` and PUBLISH {job_id, version[, dequeued]} on the change
-- channel (adapters/redis_job_changes.py); `dequeued` says every job behind it moved up.
-- enqueue / dequeue: the queue ZSET, scored by a sequence number (adapters/redis_queue_place.py).
local function announce(job, channel, id, dequeued)
  local version = redis.call('HINCRBY', job, 'version', 1)
  local change = {job_id = id, version = version}
  if dequeued then change.dequeued = 1 end
  redis.call('PUBLISH', channel, cjson.encode(change))
  return version
end

local function enqueue(queue, seq, id)
  if not redis.call('ZSCORE', queue, id) then
    redis.call('ZADD', queue, redis.call('INCR', seq), id)
  end
end

local function dequeue(queue, id)
  return redis.call('ZREM', queue, id) == 1
end

-- A job recorded with a deadline joins the deadline index (job_deadlines.lua enforces it).
local function track_deadline(job, deadlines, id)
  local due = redis.call('HGET', job, 'deadline_ms')
  if due and due ~= '' then redis.call('ZADD', deadlines, due, id) end
end
