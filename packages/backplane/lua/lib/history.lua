-- Shared by publish.lua, publish-batch.lua and expire.lua (inlined at load by
-- lua-scripts.ts, which replaces the `--#include lib/history.lua` line of each
-- with this file).

-- The "ts" of a frame built by encodeEventFrame's layout, or 0 if the text is not such a frame.
local function frameTs(frame)
  return tonumber(string.match(frame, '^{"type":"[^"]*","seq":%d+,"ts":(%d+)')) or 0
end

-- The MAXLEN of a history stream that keeps maxItems entries (plus the
-- anchor, trimHistoryAge), as text: computed once per run, since Redis turns
-- a number argument into text (a printf) on every call.
local function historyMaxLen(maxItems)
  return string.format('%d', maxItems + 1)
end

-- Appends frame as entry "<seqText>-0", trimming the stream to about maxLen
-- entries (MAXLEN ~: whole nodes only, cheap). Arguments are text, so the
-- per-event path formats no number but the seq (once, by the caller).
local function addHistoryEntry(key, seqText, frame, maxLen)
  local id = seqText .. '-0'
  local added = redis.pcall('XADD', key, 'MAXLEN', '~', maxLen, id, 'f', frame)
  if type(added) == 'table' and added.err then
    -- The stream already holds an ID >= seq: the seq counter was reset
    -- (deleted, evicted) while the history survived. That history belongs to
    -- another seq line; drop it so history and seq agree again.
    redis.call('DEL', key)
    redis.call('XADD', key, 'MAXLEN', '~', maxLen, id, 'f', frame)
  end
end

-- Trims the stream by age, keeping one entry before the oldest retained one
-- (the anchor): history.lua needs the event at a reader's position to check
-- its proof, and a reader may stand exactly there. The anchor is never
-- replayed (reads apply the bounds themselves). At most 100 aged entries go
-- per call.
local function trimHistoryAge(key, ts, maxAge)
  local cutoff = ts - maxAge
  -- Only when the entry after the head is aged too is there anything to trim.
  local head = redis.call('XRANGE', key, '-', '+', 'COUNT', 2)
  if head[2] and frameTs(head[2][2][2]) < cutoff then
    local batch = redis.call('XRANGE', key, '-', '+', 'COUNT', 101)
    local keepFrom = batch[#batch][1]
    for i = 2, #batch do
      if frameTs(batch[i][2][2]) >= cutoff then
        keepFrom = batch[i - 1][1]
        break
      end
    end
    redis.call('XTRIM', key, 'MINID', keepFrom)
  end
end

-- One entry appended, then the stream trimmed (publish.lua, expire.lua).
local function appendHistory(key, seq, ts, frame, maxItems, maxAge)
  addHistoryEntry(key, string.format('%d', seq), frame, historyMaxLen(maxItems))
  trimHistoryAge(key, ts, maxAge)
end
