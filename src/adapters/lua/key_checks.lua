-- Chunk: is a found key refused before its credits are looked at? Unkey's order is
-- not found -> disabled -> expired -> credits; the caller has already checked that the record
-- exists.
--
-- key_refusal(record, now_ms) -> 'NOT_FOUND', 'DISABLED', 'EXPIRED' or nil
--   record  the key's record (a hash); `revoke_at` epoch ms (set by a reroll with grace: from
--           then on the key is gone, as Unkey revokes it), `enabled` '0' disables it (absent:
--           enabled), `expires_at` epoch ms (absent or '': never)
--   now_ms  the caller's clock, epoch milliseconds (expiry follows the injected clock)
local function key_refusal(record, now_ms)
  local state = redis.call('HMGET', record, 'enabled', 'expires_at', 'revoke_at')
  local now = tonumber(now_ms)
  if state[3] and state[3] ~= '' and tonumber(state[3]) <= now then
    return 'NOT_FOUND'
  end
  if state[1] == '0' then
    return 'DISABLED'
  end
  if state[2] and state[2] ~= '' and tonumber(state[2]) <= now then
    return 'EXPIRED'
  end
  return nil
end
