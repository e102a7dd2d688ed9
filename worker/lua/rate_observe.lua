-- Tighten a scope when the provider reports less room than the window shows (another app may
-- share the key): count the difference as usage in the current second, so it ages out with
-- the window. A remaining of 0 also pauses the scope until the provider's reset.
-- KEYS[1] window hash; KEYS[2] pause key
-- ARGV[1] window_s; then triples (dim, limit, provider's remaining, reset_ms) x n
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
  local d, limit, remaining, reset_ms = ARGV[a], tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2]),
    tonumber(ARGV[a + 3])
  local ours = limit - (totals[d] or 0)
  if remaining < ours then
    redis.call('HINCRBY', KEYS[1], d .. ':' .. now_s, ours - remaining)
    redis.call('EXPIRE', KEYS[1], window + 5)
    added = added + (ours - remaining)
  end
  if remaining <= 0 and reset_ms > 0 and redis.call('PTTL', KEYS[2]) < reset_ms then
    redis.call('SET', KEYS[2], '1', 'PX', reset_ms)
  end
end
return added
