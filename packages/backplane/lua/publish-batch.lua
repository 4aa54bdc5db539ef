-- publish-batch.lua: publishes a CHUNK of events of one scope, atomically.
--
-- In one script run (so no client, gateway, snapshot or history read can
-- observe a state in between): stamps the Redis server time once, and for
-- each event in order assigns the scope's next seq, applies the event to the
-- scope's snapshot state, appends the wire frame to the scope's history
-- stream (entry ID "<seq>-0") and PUBLISHes the same frame (one message per
-- event, as publish.lua: subscribers see nothing new). Hence a snapshot read
-- at seq S holds exactly the effects of the events with seq <= S (a reader
-- sees the state before the chunk or after all of it, and the chunk's seqs
-- are consecutive), subscribers see each scope's frames in seq order, and
-- history entry <seq> is byte for byte the frame subscribers received.
-- What publish.lua does per event (TIME, INCR, the newest log score, history
-- and log trimming) is done once per chunk: that is what makes it cheaper.
--
-- Exactly-once for log scopes: an event with an idempotency key is stored
-- only if no event of the scope with the same key was stored within the
-- dedupe window (of the publisher that stored it: lib/claims.lua); otherwise it is answered with the original seq and ts and
-- neither stored nor published again. The check and the store are one
-- atomic step, so no crash or retry between them can leave a duplicate.
-- The chunk's new claims are written after its events: a run stopped in
-- between by a Redis error (a foreign client's value of another type under
-- a claims key; out of memory is checked before a script's first write, not
-- in between) leaves events unclaimed, which a retry may store again, never
-- claims without their events, which would lose them.
--
-- KEYS as publish.lua:
-- Entity scopes (numkeys = 4):
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq
--   KEYS[2]  hydra:{<scope>}:state    HASH    entity id -> data JSON
--   KEYS[3]  hydra:{<scope>}:seen     ZSET    entity id, score = last update (ms)
--   KEYS[4]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
-- Log scopes (numkeys = 3):
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq
--   KEYS[2]  hydra:{<scope>}:recent   ZSET    member "<seq>:<data JSON>", score = publish ts (ms)
--   KEYS[3]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
-- and, for log scopes with dedupe on, the idempotency claims (lib/claims.lua):
--   ARGV[10] hydra:{<scope>}:claims        HASH  key -> "<seq>:<ts>:<expiresAt>"
--   ARGV[11] hydra:{<scope>}:claims:expiry  ZSET  key, score = expiresAt
--   Passed in ARGV (only log scopes with dedupe on touch them); they carry the
--   scope's hash tag, so they live in the script's slot on Redis Cluster.
--
--   ARGV[1]  scope name (the frame's "type")
--   ARGV[2]  events channel, hydra:{<scope>}:events (same hash tag)
--   ARGV[3]  "entity" | "log"
--   ARGV[4]  history maxItems (MAXLEN ~ per append)
--   ARGV[5]  history maxAge ms (aged entries trimmed from the head once per chunk, at most 100)
--   ARGV[6]  log maxItems (entity: ignored)
--   ARGV[7]  log maxAge ms (entity: ignored)
--   ARGV[8]  "SPUBLISH" on Redis Cluster (sharded pub/sub), else "PUBLISH"
--   ARGV[9]  dedupe window ms; 0 = no dedupe (log scopes only)
--   ARGV[10] claims HASH, ARGV[11] claim expiry ZSET (above)
--   then three arguments per event, in order:
--     entity: op ("upsert" | "delete"), entity id, data JSON ('' for a delete)
--     log:    "append", idempotency key ('' = none), data JSON
--
-- Returns two integers per event, in order: { seq, ts }. seq > 0: stored
-- and published now; seq = 0: the delete of an id not in the state (nothing
-- stored or published, no seq consumed); seq < 0: a duplicate, -seq and ts
-- are the original event's.
--
-- Entity deletes publish {"id":<id>,"removed":true,"reason":"deleted"} (the
-- id JSON-encoded by cjson), as publish.lua. Log members are "<seq>:" with
-- seq zero-padded to 16 digits; the score never goes below the newest
-- member's, so a server clock stepping back cannot reorder the log.
--
-- addHistoryEntry(), trimHistoryAge() and frameTs() come from lib/history.lua;
-- parseClaim(), forgetExpiredClaims(), readLiveClaims() and storeClaims() from lib/claims.lua.

--#include lib/history.lua
--#include lib/claims.lua

local scope = ARGV[1]
local channel = ARGV[2]
local kind = ARGV[3]
local maxLen = historyMaxLen(tonumber(ARGV[4]))
local historyMaxAge = tonumber(ARGV[5])
local publishCommand = ARGV[8] == 'SPUBLISH' and 'SPUBLISH' or 'PUBLISH'
local FIRST = 12

if kind ~= 'entity' and kind ~= 'log' then
  return redis.error_reply('ERR hydra publish-batch: unknown scope kind ' .. tostring(kind))
end
if (#ARGV - FIRST + 1) % 3 ~= 0 then
  return redis.error_reply('ERR hydra publish-batch: events need three arguments each')
end

local time = redis.call('TIME')
local ts = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tsText = string.format('%d', ts)
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
local firstSeq = seq
local out = {}

-- Same bytes as encodeEventFrame() of @hydra/protocol (packages/protocol/src/frames.ts).
local framePrefix = '{"type":"' .. scope .. '","seq":'
local frameMiddle = ',"ts":' .. tsText .. ',"data":'

local historyKey
local dedupeMs, logScore
-- key -> claim value: the live claims of the chunk's keys, then also those it makes.
local claims = {}
local newClaims = {}
-- When this run's claims expire, and what follows the seq in each of their values (":<ts>:<expiresAt>").
local claimExpiresAt, claimSuffix
if kind == 'entity' then
  historyKey = KEYS[4]
else
  historyKey = KEYS[3]
  dedupeMs = tonumber(ARGV[9])
  if dedupeMs > 0 then
    claimExpiresAt = string.format('%d', ts + dedupeMs)
    claimSuffix = ':' .. tsText .. ':' .. claimExpiresAt
    forgetExpiredClaims(ARGV[10], ARGV[11], ts)
    local keys = {}
    for i = FIRST, #ARGV, 3 do
      if ARGV[i + 1] ~= '' then keys[#keys + 1] = ARGV[i + 1] end
    end
    claims = readLiveClaims(ARGV[10], keys, ts)
  end
  logScore = ts
  local newest = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
  if newest[2] ~= nil and tonumber(newest[2]) > logScore then
    logScore = tonumber(newest[2])
  end
end

-- State writes of consecutive upserts (and log appends) are gathered and
-- sent as one variadic HSET + ZADD (one ZADD), in order: a delete first
-- flushes what came before it, so the state sees the events in seq order.
local stateArgs, seenArgs = {}, {}
-- The key the current event claims (a log event with a new key): the claim is its "<seq>" .. claimSuffix.
local claiming
-- A log chunk's stored events, in seq order; only the last maxItems reach the recent log (below).
local recentSeqs, recentData = {}, {}
local function flushState()
  if #stateArgs > 0 then
    redis.call('HSET', KEYS[2], unpack(stateArgs))
    redis.call('ZADD', KEYS[3], unpack(seenArgs))
    stateArgs, seenArgs = {}, {}
  end
end

for i = FIRST, #ARGV, 3 do
  local op = ARGV[i]
  local key = ARGV[i + 1]
  local data = ARGV[i + 2]
  local store = true
  if kind == 'entity' then
    if op == 'upsert' then
      stateArgs[#stateArgs + 1] = key
      stateArgs[#stateArgs + 1] = data
      seenArgs[#seenArgs + 1] = tsText
      seenArgs[#seenArgs + 1] = key
    elseif op == 'delete' then
      flushState()
      redis.call('ZREM', KEYS[3], key)
      if redis.call('HDEL', KEYS[2], key) == 0 then
        store = false
        out[#out + 1] = 0
        out[#out + 1] = ts
      else
        data = '{"id":' .. cjson.encode(key) .. ',"removed":true,"reason":"deleted"}'
      end
    else
      return redis.error_reply('ERR hydra publish-batch: unknown entity op ' .. tostring(op))
    end
  elseif key ~= '' and dedupeMs > 0 then
    -- A live claim is the original; otherwise the key is claimed for the seq this event gets.
    local prior = claims[key]
    if prior then
      local priorSeq, priorTs = parseClaim(prior)
      store = false
      out[#out + 1] = -tonumber(priorSeq)
      out[#out + 1] = tonumber(priorTs)
    else
      claiming = key
    end
  end
  if store then
    -- The one number turned into text for every event (a printf each); the rest is done once per
    -- run, but for the zero-padded seq of each event that enters the recent log (at most maxItems).
    seq = seq + 1
    local seqText = string.format('%d', seq)
    if claiming then
      local claim = seqText .. claimSuffix
      claims[claiming] = claim
      newClaims[#newClaims + 1] = claiming
      newClaims[#newClaims + 1] = claim
      claiming = nil
    end
    if kind == 'log' then
      recentSeqs[#recentSeqs + 1] = seq
      recentData[#recentData + 1] = data
    end
    local frame = framePrefix .. seqText .. frameMiddle .. data .. '}'
    addHistoryEntry(historyKey, seqText, frame, maxLen)
    redis.call(publishCommand, channel, frame)
    out[#out + 1] = seq
    out[#out + 1] = ts
  end
end

if kind == 'entity' then
  flushState()
elseif #recentSeqs > 0 then
  -- The chunk's members all get the same score, not below any member already
  -- there, and sort by their zero-padded seq: after the rank trim below, the
  -- recent log holds the chunk's last maxItems events whatever came before.
  -- Adding only those is the same end state, without the members the same
  -- script would add and trim again (most of a 256-event chunk).
  local recentArgs = {}
  local scoreText = string.format('%d', logScore)
  for i = math.max(1, #recentSeqs - tonumber(ARGV[6]) + 1), #recentSeqs do
    recentArgs[#recentArgs + 1] = scoreText
    recentArgs[#recentArgs + 1] = string.format('%016d', recentSeqs[i]) .. ':' .. recentData[i]
  end
  redis.call('ZADD', KEYS[2], unpack(recentArgs))
end

if #newClaims > 0 then
  storeClaims(ARGV[10], ARGV[11], newClaims, claimExpiresAt, dedupeMs)
end

if seq ~= firstSeq then
  redis.call('SET', KEYS[1], string.format('%d', seq))
  trimHistoryAge(historyKey, ts, historyMaxAge)
  if kind == 'log' then
    local maxItems = tonumber(ARGV[6])
    local maxAge = tonumber(ARGV[7])
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. string.format('%d', ts - maxAge))
    redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(maxItems + 1))
  end
end

return out
