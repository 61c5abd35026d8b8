-- Give credits back to a key id.
--
-- KEYS[1]  the key id's index entry (holds the SHA-256 of the key)
-- ARGV[1]  the prefix of record names (the record is ARGV[1] .. digest)
-- ARGV[2]  credits to add (an integer >= 0)
--
-- Returns the new balance, or nil when the key id is unknown or revoked.
local digest = redis.call('GET', KEYS[1])
if not digest then
  return nil
end
local record = ARGV[1] .. digest
if redis.call('EXISTS', record) == 0 then
  return nil
end
return redis.call('HINCRBY', record, 'remaining', ARGV[2])
