-- The broker has these jobs: check on them again at ARGV[1]. XX: a worker that already
-- claimed a job took it out of the outbox; do not put it back.
-- KEYS[1] outbox; ARGV: due_ms, job ids…
for i = 2, #ARGV do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[1], ARGV[i])
end
return 1
