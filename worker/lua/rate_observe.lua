-- Tighten a scope when the provider reports less room than the window shows (another app may
-- share the key): count the difference as usage in the current second, so it ages out with
-- the window like real usage would.
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
  local ours = limit - (totals[d] or 0)
  if remaining < ours then
    redis.call('HINCRBY', KEYS[1], d .. ':' .. now_s, ours - remaining)
    redis.call('EXPIRE', KEYS[1], window + 5)
    added = added + (ours - remaining)
  end
end
return added
