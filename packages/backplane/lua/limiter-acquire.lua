-- Takes one connection slot of a client IP for one gateway node if the
-- cluster-wide count of live slots is below the limit (guarantee 2). One call
-- per connect; the check and the increment are one atomic step.
--
-- KEYS[1]  per-IP HASH (redisKeys.ipConnections): field <nodeId> = that node's
--          slot count, field <nodeId>#exp = its lease expiry (epoch ms, Redis clock)
-- ARGV[1]  caller's nodeId
-- ARGV[2]  maxPerIp
-- ARGV[3]  leaseMs
-- ARGV[4]  slots of this IP the caller holds by its own bookkeeping; read only
--          when the caller's lease here has lapsed, to re-establish its count
--
-- Returns {granted (1 or 0), cluster-wide count after the decision}.
--
-- A node's slots count only while its lease is live (expiry > Redis TIME);
-- lapsed nodes' fields are deleted here. Cost: O(fields) = O(nodes holding
-- slots of this IP), independent of the number of connections.
local key = KEYS[1]
local node = ARGV[1]
local max = tonumber(ARGV[2])
local lease = tonumber(ARGV[3])
local held = tonumber(ARGV[4])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local counts, exps = {}, {}
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local f = fields[i]
  if string.sub(f, -4) == '#exp' then
    exps[string.sub(f, 1, -5)] = tonumber(fields[i + 1])
  else
    counts[f] = tonumber(fields[i + 1])
  end
end

local others, own = 0, nil
for n, c in pairs(counts) do
  local e = exps[n]
  if e ~= nil and e > now and c ~= nil then
    if n == node then own = c else others = others + c end
  else
    redis.call('HDEL', key, n, n .. '#exp')
  end
end
for n in pairs(exps) do
  if counts[n] == nil then redis.call('HDEL', key, n .. '#exp') end
end
if own == nil then own = held end

local function hold(count)
  redis.call('HSET', key, node, count, node .. '#exp', now + lease)
  -- Every write pushes the key's TTL to now + lease, so it always outlives
  -- the latest lease in the hash and the key disappears once all have lapsed.
  redis.call('PEXPIRE', key, lease)
end

if others + own >= max then
  if own > 0 then hold(own) end
  return {0, others + own}
end
hold(own + 1)
return {1, others + own + 1}
