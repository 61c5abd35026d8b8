-- A page of keys from a listing index (a sorted set of key ids by creation sequence), oldest
-- first, after a cursor (the sequence number of the previous page's last key). Keys added
-- meanwhile get higher sequence numbers, so pages never repeat or skip a key.
--
-- ARGV[1]  <prefix>:quota:   ARGV[2] the index, relative to ARGV[1] (keys, keys:plan:<plan>,
--          keys:ext:<external id>)   ARGV[3] only this plan ('' any)
-- ARGV[4]  cursor (0: from the start)   ARGV[5] page size
--
-- Returns {has_more, record, record, …}, each record as its HGETALL. Ids whose key is gone
-- (a rerolled key past its grace) are dropped from the index on the way.
local p = ARGV[1]
local index = p .. ARGV[2]
local limit = tonumber(ARGV[5])
local after = ARGV[4]
local found = {}
while true do
  local batch = redis.call('ZRANGE', index, '(' .. after, '+inf', 'BYSCORE', 'LIMIT', 0, 100,
    'WITHSCORES')
  if #batch == 0 then
    return {0, unpack(found)}
  end
  for i = 1, #batch, 2 do
    local key_id = batch[i]
    after = batch[i + 1]
    local digest = redis.call('GET', p .. 'id:' .. key_id)
    local record = digest and redis.call('HGETALL', p .. 'key:' .. digest) or {}
    if #record == 0 then
      redis.call('ZREM', index, key_id)
    elseif ARGV[3] == '' or redis.call('HGET', p .. 'key:' .. digest, 'plan') == ARGV[3] then
      if #found == limit then
        return {1, unpack(found)}
      end
      found[#found + 1] = record
    end
  end
end
