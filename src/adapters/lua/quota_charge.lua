-- Check a key and charge it, after applying any refill that is due: one atomic step, with the
-- ledger entries of both.
--
-- KEYS[1]  the key's record; ARGV[1..4] cost, assumed refill interval, day and boundary,
-- ARGV[5..8] now (epoch ms), ledger prefix, ledger ttl (s), job id ('' none)
-- (see lib_quota_charge.lua).
--#include lib_quota_charge.lua
return charge(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8])
