-- Take one of `limit` upstream slots, after dropping expired leases (Redis server time, so
-- worker clocks do not matter).
-- KEYS[1] leases; ARGV: holder, limit, lease ms. Returns 1 when the slot was taken.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_ms)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
local lease_ms = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now_ms + lease_ms, ARGV[1])
if redis.call('PTTL', KEYS[1]) < lease_ms then
  redis.call('PEXPIRE', KEYS[1], lease_ms)  -- the set outlives its longest lease, then goes
end
return 1
