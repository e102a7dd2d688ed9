-- Settle a reservation to what the provider reported, and free its concurrency slot.
-- The call is moved from the second it was admitted in to the second it ended: a provider
-- counts a call from when it arrived, which may be well after admission on a busy client,
-- and counting it until (end + window) covers any such delay. The pace (see rate_acquire.lua)
-- is given back the tokens reserved but not used, or charged the ones used beyond the estimate.
-- KEYS: per scope, the window hash, the slot set and the pace hash (as in rate_acquire.lua)
-- ARGV[1] the admission second; ARGV[2] window_s; ARGV[3] slot id
-- ARGV[4..5] input and output tokens reserved; ARGV[6..7] input and output tokens used
-- then 4 limits per scope: rpm, input_tpm, output_tpm, tpm (0 = unlimited)
local now_s = tonumber(redis.call('TIME')[1])
local admitted = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local still_counted = admitted >= now_s - window
local held_in, held_out = tonumber(ARGV[4]), tonumber(ARGV[5])
local used_in, used_out = tonumber(ARGV[6]), tonumber(ARGV[7])
local function move(hash, dim, held, used)
  if still_counted and held ~= 0 then redis.call('HINCRBY', hash, dim .. ':' .. admitted, -held) end
  if used ~= 0 then redis.call('HINCRBY', hash, dim .. ':' .. now_s, used) end
end
local function repace(pace, dim, limit, held, used)
  if limit > 0 and used ~= held and redis.call('HEXISTS', pace, dim) == 1 then
    local interval_us = window * 1000000 / limit
    redis.call('HINCRBY', pace, dim, math.floor((used - held) * interval_us))
  end
end
for s = 1, #KEYS / 3 do
  local hash, slots, pace = KEYS[3 * s - 2], KEYS[3 * s - 1], KEYS[3 * s]
  local base = 7 + (s - 1) * 4
  if redis.call('EXISTS', hash) == 1 then
    move(hash, 'r', 1, 1)
    move(hash, 'i', held_in, used_in)
    move(hash, 'o', held_out, used_out)
    move(hash, 't', held_in + held_out, used_in + used_out)
    redis.call('EXPIRE', hash, window + 5)
  end
  repace(pace, 'i', tonumber(ARGV[base + 2]), held_in, used_in)
  repace(pace, 'o', tonumber(ARGV[base + 3]), held_out, used_out)
  repace(pace, 't', tonumber(ARGV[base + 4]), held_in + held_out, used_in + used_out)
  redis.call('ZREM', slots, ARGV[3])
end
return 1
