-- Gives back one connection slot of a client IP held by one gateway node.
--
-- KEYS[1]  per-IP HASH (redisKeys.ipConnections), see limiter-acquire.lua
-- ARGV[1]  caller's nodeId
-- ARGV[2]  leaseMs
-- ARGV[3]  slots of this IP the caller holds after this release, by its own
--          bookkeeping; read only when its lease here has lapsed
--
-- Returns the caller's count after the release. At 0 the caller's fields are
-- removed; Redis deletes the hash itself when its last field goes.
local key = KEYS[1]
local node = ARGV[1]
local lease = tonumber(ARGV[2])
local expField = node .. '#exp'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local count = tonumber(ARGV[3])
local current = tonumber(redis.call('HGET', key, node))
local exp = tonumber(redis.call('HGET', key, expField))
if current ~= nil and exp ~= nil and exp > now then
  count = current - 1
end

if count > 0 then
  redis.call('HSET', key, node, count, expField, now + lease)
  redis.call('PEXPIRE', key, lease)
  return count
end
redis.call('HDEL', key, node, expField)
return 0
