-- Claim due webhook deliveries. Atomic, so racing workers never get the same delivery: a claimed
-- delivery's due score moves to the end of its lease, so it comes back if the worker dies.
-- KEYS[1] due zset; ARGV: now_ms, lease_until_ms, limit, key prefix, token base
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local claimed = {}
for i, id in ipairs(ids) do
  local key = ARGV[4] .. ':webhook:' .. id
  if redis.call('HGET', key, 'state') ~= 'pending' then
    redis.call('ZREM', KEYS[1], id) -- expired with its job, or finished
  else
    local token = ARGV[5] .. '.' .. i
    redis.call('HSET', key, 'lease_token', token)
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    claimed[#claimed + 1] = id
    claimed[#claimed + 1] = token
  end
end
return claimed
