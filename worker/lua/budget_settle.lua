-- Replace a reservation by the call's real cost (0 when the call never produced usage).
-- KEYS: triples of ledger hash, open reservations, expired reservations (as in budget_reserve.lua)
-- ARGV[1] the reservation's member "<id>:<amount>", ARGV[2] real cost (nano-dollars)
-- A ledger being recovered (not verified) is left alone: Postgres will hold this cost.
local amount = tonumber(string.match(ARGV[1], ':(%d+)$'))
local cost = tonumber(ARGV[2])
for i = 1, #KEYS / 3 do
  local ledger, open, charged = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i]
  if redis.call('HGET', ledger, 'verified') == '1' then
    if redis.call('ZREM', open, ARGV[1]) == 1 then
      redis.call('HINCRBY', ledger, 'reserved', -amount)
      redis.call('HINCRBY', ledger, 'spent', cost)
    elseif redis.call('ZREM', charged, ARGV[1]) == 1 then
      redis.call('HINCRBY', ledger, 'spent', cost - amount)  -- expiry charged the worst case
    else
      redis.call('HINCRBY', ledger, 'spent', cost)  -- reserved before the ledger was reloaded
    end
  end
end
return 1
