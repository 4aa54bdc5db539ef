#!lua flags=no-writes
-- snapshot.lua: reads one scope's seq and snapshot state in one atomic step.
--
-- Read-only. Since publish.lua updates seq and state in one script run, the
-- items returned are exactly the effects of the events with seq <= the
-- returned seq, filtered by retention at the Redis server time of this read.
--
-- Entity scopes (numkeys = 4):
--   KEYS[1]  hydra:{<scope>}:seq     STRING  last assigned seq
--   KEYS[2]  hydra:{<scope>}:state   HASH    entity id -> data JSON
--   KEYS[3]  hydra:{<scope>}:seen    ZSET    entity id, score = last update (ms)
--   KEYS[4]  hydra:{<scope>}:history STREAM  "<seq>-0" -> f = frame
-- Log scopes (numkeys = 3):
--   KEYS[1]  hydra:{<scope>}:seq     STRING  last assigned seq
--   KEYS[2]  hydra:{<scope>}:recent  ZSET    member "<seq>:<data JSON>", score = publish ts (ms)
--   KEYS[3]  hydra:{<scope>}:history STREAM  "<seq>-0" -> f = frame
--
--   ARGV[1]  "entity" | "log"
--   ARGV[2]  entity: ttl ms      log: maxItems
--   ARGV[3]                      log: maxAge ms
--
-- Returns { seq, ts, item1, item2, ... }: seq is 0 before any event; ts is
-- the publish time of event seq, read from its history entry (the newest
-- entry, which no trim removes), 0 when seq is 0 or the entry is missing; a
-- client resuming from this snapshot proves its position with it. Items are
-- data JSON texts. Entity: entities updated within the TTL, least recently
-- updated first. Log: events not older than maxAge, at most the last
-- maxItems, oldest first.

local kind = ARGV[1]
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local seqTs = 0
if seq > 0 then
  local entry = redis.call('XRANGE', KEYS[#KEYS], string.format('%d', seq) .. '-0', string.format('%d', seq) .. '-0')
  if entry[1] then
    seqTs = tonumber(string.match(entry[1][2][2], '^{"type":"[^"]*","seq":%d+,"ts":(%d+)')) or 0
  end
end
local out = { seq, seqTs }

if kind == 'entity' then
  local ttl = tonumber(ARGV[2])
  local ids = redis.call('ZRANGEBYSCORE', KEYS[3], string.format('%d', now - ttl), '+inf')
  -- HMGET in chunks: unpack() of a very large table overflows the Lua stack.
  local chunk = 1000
  for first = 1, #ids, chunk do
    local last = math.min(first + chunk - 1, #ids)
    local values = redis.call('HMGET', KEYS[2], unpack(ids, first, last))
    for i = 1, #values do
      if values[i] then
        out[#out + 1] = values[i]
      end
    end
  end
elseif kind == 'log' then
  local maxItems = tonumber(ARGV[2])
  local maxAge = tonumber(ARGV[3])
  local newestFirst = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', string.format('%d', now - maxAge), 'LIMIT', 0, maxItems)
  for i = #newestFirst, 1, -1 do
    local member = newestFirst[i]
    out[#out + 1] = string.sub(member, string.find(member, ':', 1, true) + 1)
  end
else
  return redis.error_reply('ERR hydra snapshot: unknown scope kind ' .. tostring(kind))
end

return out
