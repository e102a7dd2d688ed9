-- Load a budget's spend, as summed from Postgres, unless someone already did.
-- KEYS[1] epoch, KEYS[2] ledger hash; ARGV[1] spent (nano-dollars), ARGV[2] ttl s (0 = none)
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then return -3 end
if now_ms < tonumber(redis.call('HGET', KEYS[1], 'recovering_until') or '0') then return -3 end
if redis.call('HGET', KEYS[2], 'verified') == '1' then return 0 end
redis.call('HSET', KEYS[2], 'spent', ARGV[1], 'reserved', 0, 'verified', '1')
if tonumber(ARGV[2]) > 0 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[2])) end
return 1
