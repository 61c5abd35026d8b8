-- Chunk: append an entry to a key's credit ledger. Include this file in a script that changes a
-- balance and call ledger_append in the same script, so the entry and the change are one atomic
-- step (DESIGN "Ledger": the sum of a key's entries equals its balance).
--
-- ledger_append(stream, at_ms, kind, credits, balance, job_id, reason, ttl_seconds)
--   stream       the key's ledger, <prefix>:quota:ledger:<key id> (a stream)
--   at_ms        when the change happened (the caller's clock), epoch milliseconds
--   kind         mint | charge | refund | set | increment | decrement | refill | reroll
--   credits      the signed change (a charge of 3 is -3, a set from 30 to 12 is -18)
--   balance      the balance after the change ('' when unknown)
--   job_id       '' when none; reason: '' when none
--   ttl_seconds  LEDGER_TTL_DAYS in seconds: entries older than that are trimmed, and the
--                whole ledger expires that long after its last entry
--
-- Entry ids are <ms>-<seq> with ms = max(at_ms, the last entry's ms), so they only grow even
-- when clocks disagree: ids order the entries and are the read cursors; `at` is kept as given.
local function ledger_append(stream, at_ms, kind, credits, balance, job_id, reason, ttl_seconds)
  local at = tonumber(at_ms)
  local id_ms = at
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if last[1] then
    local last_ms = tonumber(string.match(last[1][1], '^(%d+)-'))
    if last_ms > id_ms then
      id_ms = last_ms
    end
  end
  local ttl = tonumber(ttl_seconds)
  redis.call('XADD', stream, 'MINID', string.format('%d', math.max(0, at - ttl * 1000)),
    string.format('%d', id_ms) .. '-*', 'at', string.format('%d', at), 'kind', kind,
    'credits', credits, 'balance', balance, 'job', job_id or '', 'reason', reason or '')
  redis.call('EXPIRE', stream, ttl)
end
