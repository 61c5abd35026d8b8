-- A chunk: webhook_event(job, id, status) notes, in the transition's own atomic step, that the
-- job's webhook is owed an event for its move to `status` (no note without a webhook, or for an
-- event it did not ask for). A note is `<id>|<status>|<attempt>` in `<prefix>:webhook_events`;
-- the webhook workers turn each into a delivery (adapters/redis_webhook_events.py), so a crash
-- between the transition and the delivery loses nothing. The set's name comes from the job's
-- key, as the owner index's does in job_admit.lua (single Redis/Valkey, not Cluster).
local function webhook_event(job, id, status)
  local events = redis.call('HGET', job, 'webhook_events')
  if not events or events == '' then return end
  local wanted = (status == 'running') and 'running' or 'completed'
  if not string.find(',' .. events .. ',', ',' .. wanted .. ',', 1, true) then return end
  local pending = string.match(job, '^(.*):job:[^:]*$') .. ':webhook_events'
  local attempt = redis.call('HGET', job, 'attempts') or '0'
  redis.call('ZADD', pending, 0, id .. '|' .. status .. '|' .. attempt)
end
