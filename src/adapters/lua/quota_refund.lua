-- Give credits back to a key id, with the ledger's refund entry in the same step.
--
-- KEYS[1]  the key id's index entry (holds the SHA-256 of the key)
-- KEYS[2]  the job's refund mark, <prefix>:quota:refunded:<job id> ('' when no job)
-- ARGV[1]  the prefix of record names (the record is ARGV[1] .. digest)
-- ARGV[2]  credits to add (an integer >= 0)
-- ARGV[3]  now (epoch ms)   ARGV[4] the key's ledger   ARGV[5] ledger ttl (s)
-- ARGV[6]  the job's id ('' none)
--
-- A job's refund is made once: a second run for the same job (a retry after a lost reply)
-- changes nothing and answers the balance. Returns the balance, or nil when the key id is
-- unknown or revoked.
--#include ledger_append.lua
local digest = redis.call('GET', KEYS[1])
if not digest then
  return nil
end
local record = ARGV[1] .. digest
if redis.call('EXISTS', record) == 0 then
  return nil
end
if KEYS[2] ~= '' and redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[5]) == false then
  return tonumber(redis.call('HGET', record, 'remaining'))
end
local balance = redis.call('HINCRBY', record, 'remaining', ARGV[2])
if tonumber(ARGV[2]) > 0 then
  ledger_append(ARGV[4], ARGV[3], 'refund', ARGV[2], balance, ARGV[6], '', ARGV[5])
end
return balance
