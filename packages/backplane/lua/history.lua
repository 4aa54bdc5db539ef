#!lua flags=no-writes
-- history.lua: reads the events of one scope after a position, in one atomic step.
--
-- Read-only. Since publish.lua and expire.lua assign a seq, append its frame
-- to the history stream (entry ID "<seq>-0") and publish it in one script
-- run, the seq read here and the stream agree: every seq <= the returned
-- last seq that is still retained has its entry.
--
--   KEYS[1]  hydra:{<scope>}:seq      STRING  last assigned seq
--   KEYS[2]  hydra:{<scope>}:history  STREAM  "<seq>-0" -> f = frame
--
--   ARGV[1]  afterSeq (integer >= 0): the last seq the reader has
--   ARGV[2]  maxEvents (integer >= 1)
--   ARGV[3]  history maxItems: seqs <= last - maxItems count as gone, even
--            while MAXLEN ~ still keeps them
--   ARGV[4]  history maxAge ms: entries older (by their frame ts, at the
--            Redis server time of this read) count as gone
--   ARGV[5]  positionTs (integer >= 0): the ts of the event at afterSeq as
--            the reader received it, its proof that afterSeq is a position
--            in this sequence; 0 for none (unchecked)
--
-- Returns one of
--   { 0, last, seq1, frame1, seq2, frame2, ... }  events: the frames with seq
--       in (afterSeq, min(afterSeq + maxEvents, last)], contiguous, in order
--       (none when afterSeq == last)
--   { 1, last, oldest }  gone: afterSeq + 1 is no longer retained; oldest is
--       the first seq still retained (last + 1 when none is)
--   { 2, last }  future: afterSeq > last
--   { 3, last }  reset: the entry at afterSeq is not the event the reader
--       received (its ts differs): Redis lost events and assigned their seqs
--       anew. A proven position whose entry is missing (trimmed beyond the
--       anchor kept before the oldest retained entry, or lost) cannot be
--       checked, and is answered as gone.
-- last is the scope's seq at this read (0 before any event).

-- The "ts" of a frame built by publish.lua / expire.lua, or 0 if the text is not such a frame.
local function frameTs(frame)
  return tonumber(string.match(frame, '^{"type":"[^"]*","seq":%d+,"ts":(%d+)')) or 0
end

local function entryId(seq)
  return string.format('%d', seq) .. '-0'
end

local after = tonumber(ARGV[1])
local maxEvents = tonumber(ARGV[2])
local maxItems = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local positionTs = tonumber(ARGV[5] or '0')
local last = tonumber(redis.call('GET', KEYS[1]) or '0')

if after > last then
  return { 2, last }
end
local time = redis.call('TIME')
local cutoff = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) - maxAge
-- The oldest seq within the length bound.
local floor = math.max(1, last - maxItems + 1)
local first = after + 1

-- A proof is checked against the entry at the position itself, retained or not: trimming keeps one entry
-- before the oldest retained one (lib/history.lua), so a reader whose next event is retained can always be
-- checked. A missing (or unreadable) entry cannot be checked: such a position is answered as gone.
local unprovable = false
if positionTs > 0 and after > 0 then
  local proof = redis.call('XRANGE', KEYS[2], entryId(after), entryId(after))[1]
  local proofTs = proof and frameTs(proof[2][2]) or 0
  if proofTs == 0 then
    unprovable = true
  elseif proofTs ~= positionTs then
    return { 3, last }
  end
end
if after == last and not unprovable then
  return { 0, last }
end

if first >= floor and not unprovable then
  local upto = math.min(after + maxEvents, last)
  local entries = redis.call('XRANGE', KEYS[2], entryId(first), entryId(upto))
  -- Entries are only ever trimmed from the head, so a present first entry and
  -- the full count mean the range is contiguous.
  if #entries == upto - after and entries[1][1] == entryId(first) and frameTs(entries[1][2][2]) >= cutoff then
    local out = { 0, last }
    for i = 1, #entries do
      out[#out + 1] = first + i - 1
      out[#out + 1] = entries[i][2][2]
    end
    return out
  end
end

-- Gone. Find the first retained seq: the first entry at or after the length
-- bound that is young enough. Frame ts grow with seq (server time), so the
-- aged entries form a prefix: binary search with one XRANGE COUNT 1 per step.
local function entryAtOrAfter(seq)
  local e = redis.call('XRANGE', KEYS[2], entryId(seq), '+', 'COUNT', 1)
  return e[1]
end
local head = entryAtOrAfter(floor)
if head == nil then
  return { 1, last, last + 1 }
end
local lo = tonumber(string.match(head[1], '^(%d+)'))
if frameTs(head[2][2]) >= cutoff then
  return { 1, last, lo }
end
-- lo is aged; hi is young or the sentinel last + 1.
local hi = last + 1
while hi - lo > 1 do
  local mid = math.floor((lo + hi) / 2)
  local e = entryAtOrAfter(mid)
  local at = e and tonumber(string.match(e[1], '^(%d+)'))
  if e == nil or at >= hi then
    lo = hi - 1
  elseif frameTs(e[2][2]) >= cutoff then
    hi = at
  else
    lo = math.max(mid, at)
  end
end
return { 1, last, hi }
