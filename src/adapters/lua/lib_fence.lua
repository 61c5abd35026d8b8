-- A chunk: holds(job, attempt) is true while `attempt` is the job's running attempt. Every
-- transition a worker makes checks it in the same atomic step, so an attempt that lost its
-- lease (stalled past it, then swept and claimed again) can change nothing any more.
local function holds(job, attempt)
  return redis.call('HGET', job, 'status') == 'running'
    and redis.call('HGET', job, 'attempts') == attempt
end
