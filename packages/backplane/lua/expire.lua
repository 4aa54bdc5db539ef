-- expire.lua: removes and announces up to N expired entities of ONE entity scope.
--
-- An entity is expired when its last update (seen score) is older than the
-- scope TTL at the Redis server time of this run. For each of at most
-- ARGV[4] such entities, oldest first, in this one script run: HDEL it from
-- state, ZREM it from seen, assign the scope's next seq, append the removal
-- frame to the history stream and PUBLISH it:
--   {"type":"<scope>","seq":N,"ts":T,"data":{"id":<id>,"removed":true,"reason":"expired"}}
-- (the id JSON-encoded by cjson; T = this run's server time).
--
-- Exactly once: finding an expired id and removing it happen in the same
-- atomic run, so however many processes sweep concurrently, each expiry is
-- announced by exactly one of them. An entity updated before a sweep reached
-- it is no longer expired and is left alone; one updated after its removal
-- comes back as a plain upsert.
--
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq (INCR)
--   KEYS[2]  hydra:{<scope>}:state    HASH    entity id -> data JSON
--   KEYS[3]  hydra:{<scope>}:seen     ZSET    entity id, score = last update (ms)
--   KEYS[4]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
--
--   ARGV[1]  scope name (the frame's "type")
--   ARGV[2]  events channel, hydra:{<scope>}:events (same hash tag)
--   ARGV[3]  ttl ms
--   ARGV[4]  max entities removed by this run (bounds its run time)
--   ARGV[5]  history maxItems
--   ARGV[6]  history maxAge ms
--   ARGV[7]  "SPUBLISH" on Redis Cluster (sharded pub/sub), else absent or "PUBLISH"
--
-- Returns the number of entities removed (and events published). A return
-- below ARGV[4] means no expired entity was left at this run's time.
--
-- appendHistory() and frameTs() come from lib/history.lua (shared with publish.lua).

--#include lib/history.lua

local scope = ARGV[1]
local channel = ARGV[2]
local ttl = tonumber(ARGV[3])
local limit = tonumber(ARGV[4])
local historyMaxItems = tonumber(ARGV[5])
local historyMaxAge = tonumber(ARGV[6])
local publishCommand = ARGV[7] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH'

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. string.format('%d', now - ttl), 'LIMIT', 0, limit)

for i = 1, #ids do
  local id = ids[i]
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  local seq = redis.call('INCR', KEYS[1])
  -- Same bytes as encodeEventFrame(scope, seq, now, encodeRemovalData(id, 'expired')) of @hydra/protocol.
  local frame = '{"type":"' .. scope .. '","seq":' .. string.format('%d', seq) .. ',"ts":' .. string.format('%d', now)
    .. ',"data":{"id":' .. cjson.encode(id) .. ',"removed":true,"reason":"expired"}}'
  appendHistory(KEYS[4], seq, now, frame, historyMaxItems, historyMaxAge)
  redis.call(publishCommand, channel, frame)
end

return #ids
