-- Start a ledger epoch if none exists. After Redis lost its data, calls in flight hold
-- reservations nobody remembers: no budget is trusted until they have all ended and been
-- written to Postgres (grace_ms), and then every ledger is loaded afresh from Postgres.
-- KEYS[1] epoch; ARGV[1] epoch id, ARGV[2] grace (ms; 0 on a first start)
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'id', ARGV[1], 'recovering_until', now_ms + tonumber(ARGV[2]))
return 1
