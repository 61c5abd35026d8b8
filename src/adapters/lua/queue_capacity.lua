-- The live workers' total concurrency. Each worker keeps a field `<concurrency>:<expires_ms>`
-- fresh by heartbeat; a field past its expiry belongs to a dead worker and is dropped here.
-- KEYS[1] workers (HASH); ARGV[1] now_ms. Returns the sum.
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local concurrency, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
  if concurrency and tonumber(expires) > tonumber(ARGV[1]) then
    total = total + tonumber(concurrency)
  else
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
return total
