-- Verify a key and charge it, after applying any refill that is due: one atomic step.
--
-- KEYS[1]  the key's record; ARGV[1..4] cost, assumed refill interval, day and boundary
-- (see lib_quota_charge.lua).
--#include lib_quota_charge.lua
return charge(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
