-- Pause a scope for every worker for pause_ms, unless it is already paused for longer.
-- KEYS[1] pause key; ARGV[1] pause_ms
local pause_ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < pause_ms then
  redis.call('SET', KEYS[1], '1', 'PX', pause_ms)
  return 1
end
return 0
