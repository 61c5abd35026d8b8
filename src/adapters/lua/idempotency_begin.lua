-- KEYS[1] record; ARGV: fingerprint, pending ttl (s)
-- Returns {'new'}, {'mismatch'}, {'pending'} or {'replay', status, body, headers}.
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'state', 'pending')
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return {'new'}
end
if redis.call('HGET', KEYS[1], 'fp') ~= ARGV[1] then return {'mismatch'} end
if redis.call('HGET', KEYS[1], 'state') == 'pending' then return {'pending'} end
return {'replay', redis.call('HGET', KEYS[1], 'status'), redis.call('HGET', KEYS[1], 'body'),
        redis.call('HGET', KEYS[1], 'headers')}
