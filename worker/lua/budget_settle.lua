-- Replace a reservation by the call's real cost (0 when the call never produced usage).
-- KEYS: pairs of ledger hash, open reservations (as in budget_reserve.lua)
-- ARGV[1] the reservation's member "<id>:<amount>", ARGV[2] real cost (nano-dollars)
-- A ledger being recovered (not verified) is left alone: Postgres will hold this cost.
local amount = tonumber(string.match(ARGV[1], ':(%d+)$'))
local cost = tonumber(ARGV[2])
for i = 1, #KEYS / 2 do
  local ledger, open = KEYS[2 * i - 1], KEYS[2 * i]
  if redis.call('HGET', ledger, 'verified') == '1' then
    if redis.call('ZREM', open, ARGV[1]) == 1 then
      redis.call('HINCRBY', ledger, 'reserved', -amount)
    end
    if cost > 0 then redis.call('HINCRBY', ledger, 'spent', cost) end
  end
end
return 1
