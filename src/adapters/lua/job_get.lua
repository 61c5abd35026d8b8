-- KEYS[1] job. Returns its fields (empty when unknown).
return redis.call('HGETALL', KEYS[1])
