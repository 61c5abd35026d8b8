-- Jobs whose refund is owed since before ARGV[2]; drops entries whose job expired.
-- KEYS[1] refunds; ARGV: prefix, before_ms, limit
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
