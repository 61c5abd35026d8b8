-- Chunk: is a found key refused before its credits are looked at? Unkey's order is
-- not found -> disabled -> expired -> credits; the caller has already checked "not found".
--
-- key_refusal(record, now_ms) -> 'DISABLED', 'EXPIRED' or nil
--   record  the key's record (a hash); `enabled` '0' disables it (absent: enabled),
--           `expires_at` epoch ms (absent or '': never)
--   now_ms  the caller's clock, epoch milliseconds (expiry follows the injected clock)
local function key_refusal(record, now_ms)
  local state = redis.call('HMGET', record, 'enabled', 'expires_at')
  if state[1] == '0' then
    return 'DISABLED'
  end
  if state[2] and state[2] ~= '' and tonumber(state[2]) <= tonumber(now_ms) then
    return 'EXPIRED'
  end
  return nil
end
