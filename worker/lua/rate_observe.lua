-- Tighten a scope when the provider reports less room than the window shows (another app may
-- share the key): count the difference as usage that ages out when the provider says its
-- limit is fully available again (reset), or with the window if that is sooner or unknown.
-- KEYS[1] window hash
-- ARGV[1] window_s; then quadruples (dim, limit, provider's remaining, reset_ms)
local now_s = tonumber(redis.call('TIME')[1])
local window = tonumber(ARGV[1])
local totals = {}
local flat = redis.call('HGETALL', KEYS[1])
for f = 1, #flat, 2 do
  local d = string.sub(flat[f], 1, 1)
  if tonumber(string.sub(flat[f], 3)) >= now_s - window then
    totals[d] = (totals[d] or 0) + tonumber(flat[f + 1])
  end
end
local added = 0
for a = 2, #ARGV, 4 do
  local d, limit, remaining = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local reset_s = math.ceil(tonumber(ARGV[a + 3]) / 1000)
  local ours = limit - (totals[d] or 0)
  if remaining < ours then
    -- usage counted in second x stops counting at x + window: place it to end at the reset
    local second = now_s
    if reset_s > 0 and reset_s < window then second = now_s - window + reset_s end
    redis.call('HINCRBY', KEYS[1], d .. ':' .. second, ours - remaining)
    redis.call('EXPIRE', KEYS[1], window + 5)
    added = added + (ours - remaining)
  end
end
return added
