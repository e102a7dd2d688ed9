-- Settle a reservation to what the provider reported, and free its concurrency slot.
-- KEYS: per scope, the window hash then the slot set (as in rate_acquire.lua)
-- ARGV[1] the second the reservation was counted in; ARGV[2] window_s; ARGV[3] slot id
-- ARGV[4..5] corrections (actual - reserved) for input and output tokens
local now_s = tonumber(redis.call('TIME')[1])
local second = tonumber(ARGV[1])
local still_counted = second >= now_s - tonumber(ARGV[2])
local d_in, d_out = tonumber(ARGV[4]), tonumber(ARGV[5])
for s = 1, #KEYS / 2 do
  local hash, slots = KEYS[2 * s - 1], KEYS[2 * s]
  if still_counted and redis.call('EXISTS', hash) == 1 then
    if d_in ~= 0 then redis.call('HINCRBY', hash, 'i:' .. second, d_in) end
    if d_out ~= 0 then redis.call('HINCRBY', hash, 'o:' .. second, d_out) end
    if d_in + d_out ~= 0 then redis.call('HINCRBY', hash, 't:' .. second, d_in + d_out) end
  end
  redis.call('ZREM', slots, ARGV[3])
end
return 1
