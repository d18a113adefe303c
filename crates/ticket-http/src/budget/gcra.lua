-- The rate budget's one script: GCRA (the generic cell rate algorithm) in Redis, shared by
-- every replica of an app. Atomic on the server, so no two replicas take the same slot.
--
-- KEYS[1]: the budget's hash: `tat` (the theoretical arrival time, µs since the epoch),
--          `blocked` (no request starts before this, µs: a server said wait), `rate` (the
--          rate a server stated, requests a second, adopted when below the configured one).
-- KEYS[2]: the sorted set of replicas seen lately (member -> last seen, µs).
-- ARGV[1]: `take` or `refused`.
-- ARGV[2]: now, µs since the epoch; '' for the server's own clock (TIME), which every
--          replica then shares. Tests pass a controlled clock.
-- ARGV[7]: how long the keys outlive their last use, ms.
--
-- take:    ARGV[3] the interval between requests at the configured rate, µs (0: none);
--          ARGV[4] the burst (requests that may start at once); ARGV[5] the longest wait
--          to reserve, µs (a longer one is not reserved: the caller comes back);
--          ARGV[6] this replica's member name ('' to skip the count).
--          Returns {taken (1 or 0), wait in µs, adopted rate (0: none), replicas seen
--          within 10 s (0: not counted)}. Taken: the slot is reserved; start after `wait`.
-- refused: ARGV[3] the server's wait, µs; ARGV[4] the rate it stated (0: none or not
--          lower than the configured one). Returns {blocked until, adopted rate}.
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local idle = tonumber(ARGV[7])
local state = redis.call('HMGET', KEYS[1], 'tat', 'blocked', 'rate')
local tat = tonumber(state[1]) or 0
local blocked = tonumber(state[2]) or 0
local adopted = tonumber(state[3]) or 0

-- The keys live while they matter: until the later of `tat` and `blocked`, then `idle`.
local function keep(until_us)
  local ms = math.ceil(math.max(until_us - now, 0) / 1000) + idle
  redis.call('PEXPIRE', KEYS[1], string.format('%.0f', ms))
end

if ARGV[1] == 'refused' then
  local until_us = now + tonumber(ARGV[3])
  if until_us > blocked then
    blocked = until_us
    redis.call('HSET', KEYS[1], 'blocked', string.format('%.0f', blocked))
  end
  local stated = tonumber(ARGV[4])
  if stated > 0 and (adopted == 0 or stated < adopted) then
    adopted = stated
    redis.call('HSET', KEYS[1], 'rate', string.format('%.0f', adopted))
  end
  keep(math.max(tat, blocked))
  return {blocked, adopted}
end

local interval = tonumber(ARGV[3])
if adopted > 0 then
  interval = math.max(interval, math.ceil(1000000 / adopted))
end
local burst = tonumber(ARGV[4])
local start = math.max(now, blocked)
local wait = start - now
local new_tat = tat
if interval > 0 then
  new_tat = math.max(tat, start) + interval
  wait = math.max(wait, new_tat - burst * interval - now)
end

local replicas = 0
if ARGV[6] ~= '' then
  redis.call('ZADD', KEYS[2], string.format('%.0f', now), ARGV[6])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', now - 10000000))
  replicas = redis.call('ZCARD', KEYS[2])
  redis.call('PEXPIRE', KEYS[2], string.format('%.0f', idle + 10000))
end

if wait > tonumber(ARGV[5]) then
  return {0, wait, adopted, replicas}
end
if interval > 0 then
  redis.call('HSET', KEYS[1], 'tat', string.format('%.0f', new_tat))
  keep(math.max(new_tat, blocked))
end
return {1, wait, adopted, replicas}
