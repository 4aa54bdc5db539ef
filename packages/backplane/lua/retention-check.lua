-- Records one process's retention policy and reads the other live processes'
-- policies, in one atomic step (retention-agreement.ts).
--
-- KEYS[1]  HASH (redisKeys.retentionProcesses): field <processId> ->
--          "<expiresAtMs>|<policy>" (formatRetention), one per live process
-- ARGV[1]  the caller's processId (random per process)
-- ARGV[2]  the caller's policy
-- ARGV[3]  ttlMs: how long the caller's entry lives without another check
--
-- Returns the distinct policies of the other live processes that differ from
-- the caller's (empty when all agree). Entries past their expiry (a process
-- that died without withdrawing) are deleted on the way, by the Redis clock.
local key = KEYS[1]
local self = ARGV[1]
local policy = ARGV[2]
local ttl = tonumber(ARGV[3])

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

redis.call('HSET', key, self, string.format('%d', now + ttl) .. '|' .. policy)

local entries = redis.call('HGETALL', key)
local differing = {}
local seen = {}
for i = 1, #entries, 2 do
  local field, value = entries[i], entries[i + 1]
  local bar = string.find(value, '|', 1, true)
  local expires = bar and tonumber(string.sub(value, 1, bar - 1))
  if expires == nil or expires <= now then
    redis.call('HDEL', key, field)
  elseif field ~= self then
    local theirs = string.sub(value, bar + 1)
    if theirs ~= policy and not seen[theirs] then
      seen[theirs] = true
      differing[#differing + 1] = theirs
    end
  end
end
return differing
