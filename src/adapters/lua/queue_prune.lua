-- Drop queue entries whose job is no longer queued (expired, or a transition that forgot to
-- leave the queue), oldest first. KEYS[1] queue; ARGV[1] job key prefix (`<prefix>:job:`),
-- ARGV[2] how many entries to look at. Returns how many were dropped.
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
local dropped = 0
for _, id in ipairs(ids) do
  if redis.call('HGET', ARGV[1] .. id, 'status') ~= 'queued' then
    redis.call('ZREM', KEYS[1], id)
    dropped = dropped + 1
  end
end
return dropped
