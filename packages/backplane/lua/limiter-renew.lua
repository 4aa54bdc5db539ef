-- Renews one gateway node's lease on a client IP (run every leaseMs/3 for
-- every IP the node holds slots of).
--
-- KEYS[1]  per-IP HASH (redisKeys.ipConnections), see limiter-acquire.lua
-- ARGV[1]  caller's nodeId
-- ARGV[2]  leaseMs
-- ARGV[3]  the caller's exact slot count for this IP (>= 0), or -1 when the
--          caller has an acquire or release of this IP in flight and so cannot
--          know it
--
-- With a count: sets the caller's count to it and refreshes its lease (0
-- removes its fields). This re-establishes slots whose lease lapsed while the
-- node could not reach Redis (partition, long pause), and corrects any drift
-- such as an acquire that ran but whose reply was lost.
-- With -1: refreshes the lease only if it is still live and the count > 0;
-- the in-flight operation re-establishes a lapsed count itself.
--
-- Returns the caller's count after the renewal.
local key = KEYS[1]
local node = ARGV[1]
local lease = tonumber(ARGV[2])
local count = tonumber(ARGV[3])
local expField = node .. '#exp'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

if count < 0 then
  local current = tonumber(redis.call('HGET', key, node))
  local exp = tonumber(redis.call('HGET', key, expField))
  if current == nil or current <= 0 or exp == nil or exp <= now then return 0 end
  count = current
end

if count > 0 then
  redis.call('HSET', key, node, count, expField, now + lease)
  redis.call('PEXPIRE', key, lease)
  return count
end
redis.call('HDEL', key, node, expField)
return 0
