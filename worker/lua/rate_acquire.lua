-- Reserve one call's cost under every limit of every scope, atomically, or say how long to wait.
--
-- Two rules, both on Redis's clock:
-- * the window: a call is admitted only if the usage admitted in the last window_s seconds
--   (60 + margin) plus this call stays within every per-minute limit. This is what a
--   provider checks, so it can never be exceeded.
-- * the pace (GCRA): each limit also refills continuously at limit / window_s per second, with
--   a burst tolerance of burst_s seconds' worth. A minute's allowance therefore flows out
--   evenly instead of in one rush followed by a silent wait. A call that conforms within
--   book_ahead_ms is admitted at once with a delay: the caller sleeps that long, then sends.
--   Booking ahead gives every waiter its own send time instead of waking them all together.
--
-- Each scope (a provider, or a model with its own limits) has:
--   KEYS[4s-3]  a hash "<dim>:<unix second>" -> amount admitted in that second, for the
--               dims r (requests), i (input tokens), o (output tokens), t (input + output)
--   KEYS[4s-2]  a sorted set of concurrency slots: member = slot id, score = expiry (ms)
--   KEYS[4s-1]  a pause key, set after a 429 for as long as the provider's retry-after
--   KEYS[4s]    the pace hash: dim -> theoretical arrival time (microseconds)
-- ARGV[1] window_s; ARGV[2] slot_ttl_ms: a slot not released by then is free again
-- ARGV[3] slot id;  ARGV[4] concurrency poll (ms) when every slot is busy
-- ARGV[5] burst_s;  ARGV[6] book_ahead_ms
-- ARGV[7..10] costs: requests, input tokens, output tokens, input + output
-- then 5 limits per scope: rpm, input_tpm, output_tpm, tpm, max_concurrency (0 = unlimited)
-- Returns {1, second, delay_ms} when admitted (send after delay_ms); {0, wait_ms} when not;
-- {-1, dim_index} when the cost alone exceeds a limit and can never be admitted.
local now = redis.call('TIME')
local now_s = tonumber(now[1])
local now_us = now_s * 1000000 + tonumber(now[2])
local now_ms = math.floor(now_us / 1000)
local window = tonumber(ARGV[1])
local slot_ttl_ms = tonumber(ARGV[2])
local slot_id = ARGV[3]
local poll_ms = tonumber(ARGV[4])
local burst_us = tonumber(ARGV[5]) * 1000000
local book_ahead_us = tonumber(ARGV[6]) * 1000
local costs = {tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])}
local dims = {'r', 'i', 'o', 't'}
local oldest = now_s - window
local scopes = #KEYS / 4
local wait_ms = 0
local delay_us = 0  -- the pace: how long after now the call may be sent
local tats = {}  -- per scope and dim: the pace's current theoretical arrival time (us)

for s = 1, scopes do
  local hash, slots, pause, pace = KEYS[4 * s - 3], KEYS[4 * s - 2], KEYS[4 * s - 1], KEYS[4 * s]
  local base = 10 + (s - 1) * 5
  tats[s] = {}
  local paused = redis.call('PTTL', pause)
  if paused > wait_ms then wait_ms = paused end
  -- per dim: total in the window, and amounts per second for the wait computation
  local totals = {0, 0, 0, 0}
  local per_second = {{}, {}, {}, {}}
  local flat = redis.call('HGETALL', hash)
  local stale = {}
  for f = 1, #flat, 2 do
    local field = flat[f]
    local d = string.sub(field, 1, 1)
    local second = tonumber(string.sub(field, 3))
    if second < oldest then
      stale[#stale + 1] = field
    else
      for k = 1, 4 do
        if dims[k] == d then
          local amount = tonumber(flat[f + 1])
          totals[k] = totals[k] + amount
          per_second[k][#per_second[k] + 1] = {second, amount}
        end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', hash, unpack(stale)) end
  for k = 1, 4 do
    local limit = tonumber(ARGV[base + k])
    if limit > 0 and costs[k] > 0 then
      if costs[k] > limit then return {-1, k} end
      local tat = tonumber(redis.call('HGET', pace, dims[k]) or '0')
      tats[s][k] = tat
      if tat - now_us - burst_us > delay_us then delay_us = tat - now_us - burst_us end
      local excess = totals[k] + costs[k] - limit
      if excess > 0 then
        table.sort(per_second[k], function(a, b) return a[1] < b[1] end)
        local freed = 0
        for _, entry in ipairs(per_second[k]) do
          freed = freed + entry[2]
          if freed >= excess then
            local at_ms = (entry[1] + window + 1) * 1000 - now_ms
            if at_ms > wait_ms then wait_ms = at_ms end
            break
          end
        end
      end
    end
  end
  local max_slots = tonumber(ARGV[base + 5])
  if max_slots > 0 then
    redis.call('ZREMRANGEBYSCORE', slots, '-inf', now_ms)
    if redis.call('ZCARD', slots) >= max_slots and poll_ms > wait_ms then wait_ms = poll_ms end
  end
end

if delay_us > book_ahead_us then
  local until_bookable_ms = math.ceil((delay_us - book_ahead_us) / 1000)
  if until_bookable_ms > wait_ms then wait_ms = until_bookable_ms end
end
if wait_ms > 0 then return {0, wait_ms} end

local send_us = now_us + delay_us
for s = 1, scopes do
  local hash, slots, pace = KEYS[4 * s - 3], KEYS[4 * s - 2], KEYS[4 * s]
  local base = 10 + (s - 1) * 5
  for k = 1, 4 do
    if costs[k] > 0 then
      redis.call('HINCRBY', hash, dims[k] .. ':' .. now_s, costs[k])
      local limit = tonumber(ARGV[base + k])
      if limit > 0 then
        local interval_us = window * 1000000 / limit  -- the pace refills one unit this often
        local tat = math.max(tats[s][k], send_us) + math.ceil(costs[k] * interval_us)
        redis.call('HSET', pace, dims[k], string.format('%d', tat))
      end
    end
  end
  redis.call('EXPIRE', hash, window + 5)
  redis.call('EXPIRE', pace, 2 * window + 5)
  if tonumber(ARGV[base + 5]) > 0 then
    redis.call('ZADD', slots, now_ms + slot_ttl_ms, slot_id)
    redis.call('PEXPIRE', slots, slot_ttl_ms + 1000)
  end
end
return {1, now_s, math.ceil(delay_us / 1000)}
