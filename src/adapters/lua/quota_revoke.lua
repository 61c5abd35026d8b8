-- Forget a key by its id: its record and its index entry.
--
-- KEYS[1]  the key id's index entry (holds the SHA-256 of the key)
-- ARGV[1]  the prefix of record names (the record is ARGV[1] .. digest)
--
-- Returns 1 when a key was revoked, 0 when the id was unknown.
local digest = redis.call('GET', KEYS[1])
if not digest then
  return 0
end
redis.call('DEL', ARGV[1] .. digest, KEYS[1])
return 1
