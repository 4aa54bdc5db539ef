-- Idempotency claims of a log scope (publish-batch.lua, inlined at load by
-- lua-scripts.ts). A claim says which event was first stored with a key:
--   claims  HASH  hydra:{<scope>}:claims      key -> "<seq>:<ts>"
--   order   LIST  hydra:{<scope>}:claims:order  "<ts>:<key>" per claim made, oldest first
-- A claim is live while its ts is within the dedupe window of the current
-- run's time; an expired claim is never taken for a duplicate, even before
-- it is forgotten. Both keys carry the scope's hash tag.
--
-- Why not one STRING with a TTL per key: the hash is read and written with
-- one command per chunk (HMGET, HSET, RPUSH), not one SET per event, and
-- claims are forgotten by the publish runs in batches, not by Redis' key
-- expiry one key at a time. Both keys expire a window after the newest
-- claim, so a scope that stops publishing keeps no claims.

-- The ts of a claim value "<seq>:<ts>".
local function claimTs(claim)
  return tonumber(string.match(claim, ':(%d+)$'))
end

-- Forgets up to 512 claims made before cutoff (more than one run makes, so
-- forgetting keeps pace with claiming). An order entry whose key was claimed
-- again later (the claim it recorded had expired) leaves the newer claim.
local function forgetExpiredClaims(claimsKey, orderKey, cutoff)
  -- Most runs have nothing to forget: the oldest claim alone tells.
  local head = redis.call('LINDEX', orderKey, 0)
  if not head or tonumber(string.match(head, '^(%d+):')) >= cutoff then return end
  local oldest = redis.call('LRANGE', orderKey, 0, 511)
  local keys, madeAt = {}, {}
  for i = 1, #oldest do
    local at, key = string.match(oldest[i], '^(%d+):(.*)$')
    if tonumber(at) >= cutoff then break end
    keys[#keys + 1] = key
    madeAt[#madeAt + 1] = tonumber(at)
  end
  if #keys == 0 then return end
  local current = redis.call('HMGET', claimsKey, unpack(keys))
  local gone = {}
  for i = 1, #keys do
    if current[i] and claimTs(current[i]) <= madeAt[i] then gone[#gone + 1] = keys[i] end
  end
  if #gone > 0 then redis.call('HDEL', claimsKey, unpack(gone)) end
  redis.call('LTRIM', orderKey, #keys, -1)
end

-- The live claims of `keys` (a list, at most a chunk's length): key -> "<seq>:<ts>".
local function readLiveClaims(claimsKey, keys, cutoff)
  local live = {}
  if #keys == 0 then return live end
  local found = redis.call('HMGET', claimsKey, unpack(keys))
  for i = 1, #keys do
    if found[i] and claimTs(found[i]) >= cutoff then live[keys[i]] = found[i] end
  end
  return live
end

-- Stores new claims: fields is { key1, claim1, key2, claim2, ... }, made at
-- tsText (the run's time, as text); windowMs as text.
local function storeClaims(claimsKey, orderKey, fields, tsText, windowMs)
  if #fields == 0 then return end
  local order = {}
  local prefix = tsText .. ':'
  for i = 1, #fields, 2 do
    order[#order + 1] = prefix .. fields[i]
  end
  redis.call('HSET', claimsKey, unpack(fields))
  redis.call('RPUSH', orderKey, unpack(order))
  redis.call('PEXPIRE', claimsKey, windowMs)
  redis.call('PEXPIRE', orderKey, windowMs)
end
