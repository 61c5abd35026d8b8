-- A job joins the back of the queue: the next enqueue sequence number is its score, so
-- ZRANK is its position (0 = next). NX: a job already queued keeps its place.
-- KEYS[1] queue (ZSET), KEYS[2] sequence (string); ARGV[1] job_id. Returns the job's score.
local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if current then return tonumber(current) end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], seq, ARGV[1])
return seq
