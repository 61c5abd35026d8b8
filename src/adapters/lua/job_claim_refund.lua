-- Refund-once: whoever flips `refund_claimed` first gives the credits back.
-- KEYS[1] job, KEYS[2] refunds, KEYS[3] change channel; ARGV: job_id. Returns the credits to give back (0: none).
--#include lib_job_change.lua
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return 0
end
if redis.call('HGET', KEYS[1], 'refund_claimed') == '1' then return 0 end
local charged = redis.call('HGET', KEYS[1], 'charged')
redis.call('HSET', KEYS[1], 'refund_claimed', '1', 'refunded', charged)
redis.call('ZREM', KEYS[2], ARGV[1])
announce(KEYS[1], KEYS[3], ARGV[1], false)
return tonumber(charged)
