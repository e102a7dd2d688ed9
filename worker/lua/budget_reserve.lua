-- Reserve a call's worst-case cost under every budget that applies, atomically, or say why not.
-- KEYS[1]      the ledger epoch (absent after Redis lost its data)
-- KEYS[3i-1]   budget i's ledger hash: spent, reserved (nano-dollars), verified
-- KEYS[3i]     budget i's open reservations: member "<id>:<amount>", score = expiry (ms)
-- KEYS[3i+1]   budget i's expired reservations, charged at their worst case: score = when (ms)
-- ARGV[1] amount (nano-dollars), ARGV[2] reservation id, ARGV[3] reservation ttl (ms)
-- ARGV[4] how long an expired reservation is remembered (ms), ARGV[4+i] budget i's limit
-- A reservation that expires unsettled (its worker died, or Redis refused the settle) is
-- charged at its worst case, so the counters never under-state spend; a late settle corrects it.
-- Returns {1, 0} reserved; {0, i, outstanding} budget i cannot take it now (outstanding 0: nor
-- after the open reservations settle); {-2, i} budget i's
-- ledger is not loaded from Postgres yet; {-3, wait_ms} the epoch is missing (-1) or recovering.
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if redis.call('EXISTS', KEYS[1]) == 0 then return {-3, -1} end
local recovering_until = tonumber(redis.call('HGET', KEYS[1], 'recovering_until') or '0')
if now_ms < recovering_until then return {-3, recovering_until - now_ms} end

local amount = tonumber(ARGV[1])
local budgets = (#KEYS - 1) / 3
for i = 1, budgets do
  local ledger, open, charged = KEYS[3 * i - 1], KEYS[3 * i], KEYS[3 * i + 1]
  if redis.call('HGET', ledger, 'verified') ~= '1' then return {-2, i} end
  local expired = redis.call('ZRANGEBYSCORE', open, '-inf', now_ms)
  if #expired > 0 then
    local freed = 0
    for _, member in ipairs(expired) do
      freed = freed + tonumber(string.match(member, ':(%d+)$'))
      redis.call('ZADD', charged, now_ms, member)
    end
    redis.call('ZREMRANGEBYSCORE', open, '-inf', now_ms)
    redis.call('HINCRBY', ledger, 'reserved', -freed)
    redis.call('HINCRBY', ledger, 'spent', freed)
    redis.call('ZREMRANGEBYSCORE', charged, '-inf', now_ms - tonumber(ARGV[4]))
    redis.call('PEXPIRE', charged, tonumber(ARGV[4]))
  end
  local spent = tonumber(redis.call('HGET', ledger, 'spent'))
  local reserved = tonumber(redis.call('HGET', ledger, 'reserved'))
  local limit = tonumber(ARGV[4 + i])
  -- Waiting on open reservations helps only if the call would fit once they all settle at zero.
  if spent + amount > limit then return {0, i, 0} end
  if spent + reserved + amount > limit then return {0, i, reserved} end
end
for i = 1, budgets do
  redis.call('HINCRBY', KEYS[3 * i - 1], 'reserved', amount)
  redis.call('ZADD', KEYS[3 * i], now_ms + tonumber(ARGV[3]), ARGV[2] .. ':' .. amount)
end
return {1, 0}
