-- Revokes one API key record, keeping the first revocation time.
--
-- KEYS[1]  the record HASH (redisKeys.apiKeyByHash)
-- ARGV[1]  revocation time, epoch ms
--
-- Returns the record's fields after the update (HGETALL), or an empty array
-- when there is no such record (nothing is created then).
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
redis.call('HSETNX', KEYS[1], 'revokedAt', ARGV[1])
return redis.call('HGETALL', KEYS[1])
