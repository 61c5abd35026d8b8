-- Chunk: a key's record name from its id.
--
-- key_record(p, key_id) -> the record's name (<p>key:<digest>) and its id index's name, or nil
-- when the id is unknown or its record is gone.
--   p  <prefix>:quota:
local function key_record(p, key_id)
  local index = p .. 'id:' .. key_id
  local digest = redis.call('GET', index)
  if not digest then
    return nil
  end
  local record = p .. 'key:' .. digest
  if redis.call('EXISTS', record) == 0 then
    return nil
  end
  return record, index
end
