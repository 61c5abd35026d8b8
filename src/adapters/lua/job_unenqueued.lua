-- Queued jobs due before ARGV[2] the broker may not have; drops entries no longer queued.
-- KEYS[1] outbox; ARGV: prefix, before_ms, limit
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
