-- Refund-once: whoever flips `refund_claimed` first gives the credits back.
-- KEYS[1] job, KEYS[2] refunds; ARGV: job_id. Returns the credits to give back (0: none).
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if redis.call('HGET', KEYS[1], 'refund_claimed') == '1' then return 0 end
local charged = redis.call('HGET', KEYS[1], 'charged')
redis.call('HSET', KEYS[1], 'refund_claimed', '1', 'refunded', charged)
redis.call('ZREM', KEYS[2], ARGV[1])
return tonumber(charged)
