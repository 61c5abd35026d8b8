-- KEYS[1] record; ARGV: fingerprint, status, body, headers, ttl (s)
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'status', ARGV[2], 'body', ARGV[3],
           'headers', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
