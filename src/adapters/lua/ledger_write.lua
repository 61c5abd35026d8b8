-- Append one entry to a key's ledger, for a balance change made elsewhere (Unkey's, seen by
-- imagegate). KEYS[1] the ledger; ARGV as ledger_append's arguments after `stream`.
--#include ledger_append.lua
ledger_append(KEYS[1], unpack(ARGV))
return 1
