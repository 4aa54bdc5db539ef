-- Idempotency claims of a log scope (publish-batch.lua, inlined at load by
-- lua-scripts.ts). A claim says which event was first stored with a key:
--   claims  HASH  hydra:{<scope>}:claims        key -> "<seq>:<ts>:<expiresAt>"
--   expiry  ZSET  hydra:{<scope>}:claims:expiry  key, score = expiresAt
-- expiresAt = ts + the dedupe window of the publisher that made the claim: a
-- claim is live while the current run's time is before it (as `SET PX`
-- would keep a key), whatever window the publisher reading it has, and an
-- expired claim is never taken for a duplicate, even before it is
-- forgotten. A key claimed again (its claim had expired) moves to its new
-- expiry. Both keys carry the scope's hash tag.
--
-- Why not one STRING with a TTL per key: the hash is read and written with
-- one command per chunk (HMGET, HSET, ZADD), not one SET per event, and
-- claims are forgotten by the publish runs in batches (ZRANGE, HDEL,
-- ZREMRANGEBYRANK of up to 512 keys, no per-claim Lua work), not by
-- Redis' key expiry one key at a time. Both keys expire with the longest-lived claim (a TTL is
-- only ever lengthened), so a scope that stops publishing keeps no claims.

-- The seq and ts (both text) and the expiry (a number) of a claim value.
local function parseClaim(claim)
  local seq, ts, expiresAt = string.match(claim, '^(%d+):(%d+):(%d+)$')
  return seq, ts, tonumber(expiresAt)
end

-- Forgets up to 512 claims expired at now: more than one run makes, so
-- forgetting keeps pace with claiming.
local function forgetExpiredClaims(claimsKey, expiryKey, now)
  local expired = redis.call('ZRANGE', expiryKey, '-inf', string.format('%d', now), 'BYSCORE', 'LIMIT', 0, 512)
  if #expired == 0 then return end
  redis.call('HDEL', claimsKey, unpack(expired))
  redis.call('ZREMRANGEBYRANK', expiryKey, 0, #expired - 1)
end

-- The live claims of `keys` (a list, at most a chunk's length) at now: key -> claim value.
local function readLiveClaims(claimsKey, keys, now)
  local live = {}
  if #keys == 0 then return live end
  local found = redis.call('HMGET', claimsKey, unpack(keys))
  for i = 1, #keys do
    if found[i] then
      local _, _, expiresAt = parseClaim(found[i])
      -- A value of another layout (none is written today) counts as expired: it is replaced, never an error.
      if expiresAt and expiresAt > now then live[keys[i]] = found[i] end
    end
  end
  return live
end

-- Stores new claims: fields is { key1, claim1, key2, claim2, ... }, all
-- expiring at expiresAtText; windowMs is how long they live from now.
local function storeClaims(claimsKey, expiryKey, fields, expiresAtText, windowMs)
  if #fields == 0 then return end
  local expiries = {}
  for i = 1, #fields, 2 do
    expiries[#expiries + 1] = expiresAtText
    expiries[#expiries + 1] = fields[i]
  end
  redis.call('HSET', claimsKey, unpack(fields))
  redis.call('ZADD', expiryKey, unpack(expiries))
  -- Only lengthened: a publisher with a shorter window must not cut short the claims of one with a longer.
  for _, key in ipairs({ claimsKey, expiryKey }) do
    if redis.call('PTTL', key) < windowMs then redis.call('PEXPIRE', key, windowMs) end
  end
end
