-- Count one event against every limit, or against none if any is full. Refused attempts count
-- against nothing, so a flood from one address cannot use up the global budget.
-- KEYS: one counter per limit; ARGV: window (s), then each limit in KEYS order.
-- Returns {allowed, retry_after, index of the refusing limit (1-based) or 0}.
for i, key in ipairs(KEYS) do
  local used = tonumber(redis.call('GET', key) or '0')
  if used >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 0 then ttl = tonumber(ARGV[1]) end
    return {0, ttl, i}
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return {1, 0, 0}
