-- Charge a key and record its job in one atomic step (the local quota store and the jobs in
-- one Redis/Valkey): either the key was charged and the job recorded in the outbox, or neither.
--
-- KEYS[1] the key's record, KEYS[2] the job, KEYS[3] the outbox
-- ARGV[1..4] as quota_charge.lua; ARGV[5] owner-index prefix, ARGV[6] expire at (epoch s),
-- ARGV[7] index member, ARGV[8] index cutoff, ARGV[9] outbox score (ms), ARGV[10] job id,
-- ARGV[11] ledger prefix, ARGV[12] ledger ttl (s) (the outbox score is the charge's now),
-- ARGV[13] the broker message or '', ARGV[14] the outbox score once it is pushed (the recheck),
-- ARGV[15..] the job's fields but its owner, as name-value pairs.
-- With a message, KEYS[7] is the broker's queue list (the broker is this Redis): the message is
-- pushed in the same step, so a charged job is in the broker the moment it is recorded.
--
-- The owner index's name is built here from the key's id (which only the record knows): fine
-- on a single Redis/Valkey, not on Redis Cluster.
--#include lib_quota_charge.lua
--#include lib_job_change.lua
local verdict = charge(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[9], ARGV[11],
  ARGV[12], ARGV[10])
if verdict[1] ~= 'VALID' then return verdict end
local index = ARGV[5] .. verdict[2]
redis.call('HSET', KEYS[2], 'owner', verdict[2], unpack(ARGV, 15))
redis.call('EXPIREAT', KEYS[2], ARGV[6])
redis.call('ZADD', index, 0, ARGV[7])
redis.call('ZREMRANGEBYLEX', index, '-', ARGV[8])
redis.call('EXPIREAT', index, ARGV[6])
if ARGV[13] ~= '' then
  redis.call('LPUSH', KEYS[7], ARGV[13])
  redis.call('ZADD', KEYS[3], ARGV[14], ARGV[10])
else
  redis.call('ZADD', KEYS[3], ARGV[9], ARGV[10])
end
enqueue(KEYS[4], KEYS[5], ARGV[10])  -- KEYS[4] queue, KEYS[5] its sequence
track_deadline(KEYS[2], KEYS[6], ARGV[10])  -- KEYS[6] deadlines
return verdict
