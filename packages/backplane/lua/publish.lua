-- publish.lua: publishes ONE event of one scope, atomically.
--
-- Not on the ingest path any more: RedisEventBus runs publish-batch.lua (a
-- chunk of events per run, the same effects per event). Kept as the
-- baseline of `pnpm bench --ingest` (bench/src/ingest-paths.ts, `per-event`).
--
-- In one script run (so no client, gateway, snapshot or history read can
-- observe a state in between): assigns the scope's next seq, stamps the Redis
-- server time, applies the event to the scope's snapshot state, appends the
-- wire frame to the scope's history stream (entry ID "<seq>-0") and PUBLISHes
-- the same frame. Hence a snapshot read at seq S holds exactly the effects of
-- the events with seq <= S, subscribers see each scope's frames in seq order,
-- and history entry <seq> is byte for byte the frame subscribers received.
--
-- Entity scopes (numkeys = 4):
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq (INCR)
--   KEYS[2]  hydra:{<scope>}:state    HASH    entity id -> data JSON
--   KEYS[3]  hydra:{<scope>}:seen     ZSET    entity id, score = last update (ms)
--   KEYS[4]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
-- Log scopes (numkeys = 3):
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq (INCR)
--   KEYS[2]  hydra:{<scope>}:recent   ZSET    member "<seq>:<data JSON>", score = publish ts (ms)
--   KEYS[3]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
--
--   ARGV[1]  scope name (the frame's "type")
--   ARGV[2]  events channel, hydra:{<scope>}:events. A channel is not a key,
--            so it travels in ARGV; it carries the same hash tag.
--   ARGV[3]  "entity" | "log"
--   ARGV[4]  data JSON, copied into the frame and the state byte for byte
--            (ignored by an entity delete)
--   ARGV[5]  history maxItems (length bound, trimmed with MAXLEN ~)
--   ARGV[6]  history maxAge ms (entries older are trimmed from the head, at
--            most 100 per call)
--   ARGV[7]  entity: "upsert" | "delete"     log: maxItems
--   ARGV[8]  entity: entity id               log: maxAge ms
--   ARGV[9]  "SPUBLISH" on Redis Cluster (sharded pub/sub: the channel's tag
--            is the scope's, so it stays in this script's slot), else
--            absent or "PUBLISH"
--
-- Returns { seq, ts }; { 0, ts } for the delete of an id not in the state:
-- nothing was stored or published, no seq consumed.
--
-- A delete removes the entity from state and seen and publishes
--   {"type":"<scope>","seq":N,"ts":T,"data":{"id":<id>,"removed":true,"reason":"deleted"}}
-- (the id JSON-encoded by cjson). Expired entities are NOT pruned here:
-- expire.lua removes and announces them; snapshot.lua filters by the TTL, so
-- an entity past its TTL is never visible in a snapshot even before that.
--
-- Every key carries the scope's hash tag, so the script is cluster-safe.
-- Log members are "<seq>:" with seq zero-padded to 16 digits, so that members
-- sharing a millisecond sort (lexicographically) in seq order; the score never
-- goes below the newest member's, so a server clock stepping back cannot
-- reorder the log either.
--
-- appendHistory() and frameTs() come from lib/history.lua (shared with expire.lua).

--#include lib/history.lua

local scope = ARGV[1]
local channel = ARGV[2]
local kind = ARGV[3]
local data = ARGV[4]
local historyMaxItems = tonumber(ARGV[5])
local historyMaxAge = tonumber(ARGV[6])

local time = redis.call('TIME')
local ts = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local historyKey

if kind == 'entity' then
  local op = ARGV[7]
  local id = ARGV[8]
  historyKey = KEYS[4]
  if op == 'upsert' then
    redis.call('HSET', KEYS[2], id, data)
    redis.call('ZADD', KEYS[3], ts, id)
  elseif op == 'delete' then
    redis.call('ZREM', KEYS[3], id)
    if redis.call('HDEL', KEYS[2], id) == 0 then
      return { 0, ts }
    end
    data = '{"id":' .. cjson.encode(id) .. ',"removed":true,"reason":"deleted"}'
  else
    return redis.error_reply('ERR hydra publish: unknown entity op ' .. tostring(op))
  end
elseif kind == 'log' then
  historyKey = KEYS[3]
else
  return redis.error_reply('ERR hydra publish: unknown scope kind ' .. tostring(kind))
end

local seq = redis.call('INCR', KEYS[1])

if kind == 'log' then
  local maxItems = tonumber(ARGV[7])
  local maxAge = tonumber(ARGV[8])
  local score = ts
  local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if newest[2] ~= nil and tonumber(newest[2]) > score then
    score = tonumber(newest[2])
  end
  redis.call('ZADD', KEYS[2], score, string.format('%016d', seq) .. ':' .. data)
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', ts - maxAge))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(maxItems + 1))
end

-- Same bytes as encodeEventFrame() of @hydra/protocol (packages/protocol/src/frames.ts).
local frame = '{"type":"' .. scope .. '","seq":' .. string.format('%d', seq) .. ',"ts":' .. string.format('%d', ts)
  .. ',"data":' .. data .. '}'
appendHistory(historyKey, seq, ts, frame, historyMaxItems, historyMaxAge)
redis.call(ARGV[9] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH', channel, frame)

return { seq, ts }
