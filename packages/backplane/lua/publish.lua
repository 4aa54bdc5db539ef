-- publish.lua: publishes ONE event of one scope, atomically.
--
-- In one script run (so no client, gateway or snapshot read can observe a
-- state in between): assigns the scope's next seq, stamps the Redis server
-- time, applies the event to the scope's snapshot state, and PUBLISHes the
-- wire frame. Hence a snapshot read at seq S holds exactly the effects of the
-- events with seq <= S, and subscribers see each scope's frames in seq order.
--
-- Entity scopes (numkeys = 3):
--   KEYS[1]  hydra:{<scope>}:seq     STRING  last assigned seq (INCR)
--   KEYS[2]  hydra:{<scope>}:state   HASH    entity id -> data JSON
--   KEYS[3]  hydra:{<scope>}:seen    ZSET    entity id, score = last update (ms)
-- Log scopes (numkeys = 2):
--   KEYS[1]  hydra:{<scope>}:seq     STRING  last assigned seq (INCR)
--   KEYS[2]  hydra:{<scope>}:recent  ZSET    member "<seq>:<data JSON>", score = publish ts (ms)
--
--   ARGV[1]  scope name (the frame's "type")
--   ARGV[2]  events channel, hydra:{<scope>}:events. A channel is not a key,
--            so it travels in ARGV; it carries the same hash tag.
--   ARGV[3]  "entity" | "log"
--   ARGV[4]  data JSON, copied into the frame and the state byte for byte
--   ARGV[5]  entity: entity id               log: maxItems
--   ARGV[6]  entity: ttl ms                  log: maxAge ms
--   ARGV[7]  entity: max expired entities pruned by this call (bounds the run time)
--
-- Returns { seq, ts }.
--
-- Every key carries the scope's hash tag, so the script is cluster-safe.
-- Log members are "<seq>:" with seq zero-padded to 16 digits, so that members
-- sharing a millisecond sort (lexicographically) in seq order; the score never
-- goes below the newest member's, so a server clock stepping back cannot
-- reorder the log either. Expired entities are removed lazily here (at most
-- ARGV[7] per call); snapshot.lua filters by the same TTL, so a not yet
-- pruned entity is never visible.

local scope = ARGV[1]
local channel = ARGV[2]
local kind = ARGV[3]
local data = ARGV[4]

local seq = redis.call('INCR', KEYS[1])
local time = redis.call('TIME')
local ts = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

if kind == 'entity' then
  local id = ARGV[5]
  local ttl = tonumber(ARGV[6])
  local pruneLimit = tonumber(ARGV[7])
  redis.call('HSET', KEYS[2], id, data)
  redis.call('ZADD', KEYS[3], ts, id)
  local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. string.format('%d', ts - ttl), 'LIMIT', 0, pruneLimit)
  if #expired > 0 then
    redis.call('HDEL', KEYS[2], unpack(expired))
    redis.call('ZREM', KEYS[3], unpack(expired))
  end
elseif kind == 'log' then
  local maxItems = tonumber(ARGV[5])
  local maxAge = tonumber(ARGV[6])
  local score = ts
  local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if newest[2] ~= nil and tonumber(newest[2]) > score then
    score = tonumber(newest[2])
  end
  redis.call('ZADD', KEYS[2], score, string.format('%016d', seq) .. ':' .. data)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', ts - maxAge))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(maxItems + 1))
else
  return redis.error_reply('ERR hydra publish: unknown scope kind ' .. tostring(kind))
end

-- Same bytes as encodeEventFrame() in src/event-bus.ts.
local frame = '{"type":"' .. scope .. '","seq":' .. string.format('%d', seq) .. ',"ts":' .. string.format('%d', ts)
  .. ',"data":' .. data .. '}'
redis.call('PUBLISH', channel, frame)

return { seq, ts }
