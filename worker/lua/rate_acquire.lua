-- Reserve one call's cost under every limit of every scope, atomically, or say how long to wait.
--
-- Each scope (a provider, or a model with its own limits) has:
--   KEYS[3s-2]  a hash "<dim>:<unix second>" -> amount admitted in that second, for the
--               dims r (requests), i (input tokens), o (output tokens), t (input + output)
--   KEYS[3s-1]  a sorted set of concurrency slots: member = slot id, score = expiry (ms)
--   KEYS[3s]    a pause key, set after a 429 for as long as the provider's retry-after
-- ARGV[1] window_s: seconds a unit of usage counts against a per-minute limit (60 + margin)
-- ARGV[2] slot_ttl_ms: a slot not released by then is free again (its holder died)
-- ARGV[3] slot id;  ARGV[4] concurrency poll (ms) when every slot is busy
-- ARGV[5] burst_s: no single second may take more than burst_s seconds' worth of a limit, so
--         a minute's allowance is paced out rather than sent in one instant
-- ARGV[6..9] costs: requests, input tokens, output tokens, input + output
-- then 5 limits per scope: rpm, input_tpm, output_tpm, tpm, max_concurrency (0 = unlimited)
-- Returns {1, bucket} when admitted; {0, wait_ms} when not; {-1, dim_index} when the cost
-- alone exceeds a limit and can never be admitted.
local now = redis.call('TIME')
local now_s = tonumber(now[1])
local now_ms = now_s * 1000 + math.floor(tonumber(now[2]) / 1000)
local window = tonumber(ARGV[1])
local slot_ttl_ms = tonumber(ARGV[2])
local slot_id = ARGV[3]
local poll_ms = tonumber(ARGV[4])
local burst_s = tonumber(ARGV[5])
local costs = {tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])}
local dims = {'r', 'i', 'o', 't'}
local oldest = now_s - window
local scopes = #KEYS / 3
local wait_ms = 0

for s = 1, scopes do
  local hash, slots, pause = KEYS[3 * s - 2], KEYS[3 * s - 1], KEYS[3 * s]
  local base = 9 + (s - 1) * 5
  local paused = redis.call('PTTL', pause)
  if paused > wait_ms then wait_ms = paused end
  -- per dim: total in the window, and amounts per second for the wait computation
  local totals = {0, 0, 0, 0}
  local this_second = {0, 0, 0, 0}
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
          if second == now_s then this_second[k] = this_second[k] + amount end
        end
      end
    end
  end
  if #stale > 0 then redis.call('HDEL', hash, unpack(stale)) end
  for k = 1, 4 do
    local limit = tonumber(ARGV[base + k])
    if limit > 0 and costs[k] > 0 then
      if costs[k] > limit then return {-1, k} end
      local pace = math.max(math.ceil(limit * burst_s / 60), costs[k])
      if this_second[k] + costs[k] > pace then
        local next_second_ms = (now_s + 1) * 1000 - now_ms
        if next_second_ms > wait_ms then wait_ms = next_second_ms end
      end
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

if wait_ms > 0 then return {0, wait_ms} end

for s = 1, scopes do
  local hash, slots = KEYS[3 * s - 2], KEYS[3 * s - 1]
  local base = 9 + (s - 1) * 5
  for k = 1, 4 do
    if costs[k] > 0 then redis.call('HINCRBY', hash, dims[k] .. ':' .. now_s, costs[k]) end
  end
  redis.call('EXPIRE', hash, window + 5)
  if tonumber(ARGV[base + 5]) > 0 then
    redis.call('ZADD', slots, now_ms + slot_ttl_ms, slot_id)
    redis.call('PEXPIRE', slots, slot_ttl_ms + 1000)
  end
end
return {1, now_s}
