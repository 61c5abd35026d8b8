-- Send a delivery again: a new round of attempts, same webhook-id, due now. Any lease held
-- is voided, so an attempt still in flight is logged but decides nothing.
-- KEYS[1] delivery hash, KEYS[2] due zset; ARGV: subject id, now_iso, now_ms, delivery id
if redis.call('HGET', KEYS[1], 'subject_id') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'next_attempt_at', ARGV[2], 'round_attempts', 0)
redis.call('HDEL', KEYS[1], 'lease_token')
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
