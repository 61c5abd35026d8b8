-- Log one attempt; apply its outcome only if the caller's claim is still current.
-- KEYS[1] delivery hash, KEYS[2] its attempts list, KEYS[3] due zset
-- ARGV: token, attempt json, outcome, next_attempt_iso, next_attempt_ms, now_iso, delivery id
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
redis.call('RPUSH', KEYS[2], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
if redis.call('HGET', KEYS[1], 'state') ~= 'pending'
    or redis.call('HGET', KEYS[1], 'lease_token') ~= ARGV[1] then
  return 'stale'
end
redis.call('HINCRBY', KEYS[1], 'round_attempts', 1)
redis.call('HDEL', KEYS[1], 'lease_token')
if ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[1], 'next_attempt_at', ARGV[4])
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[7])
  return 'recorded'
end
redis.call('HSET', KEYS[1], 'state', ARGV[3], 'next_attempt_at', '')
if ARGV[3] == 'delivered' then redis.call('HSET', KEYS[1], 'delivered_at', ARGV[6]) end
redis.call('ZREM', KEYS[3], ARGV[7])
return 'recorded'
