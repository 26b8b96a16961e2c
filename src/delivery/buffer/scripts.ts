/**
 * The session buffer's Lua scripts. Each runs atomically in Redis, which is what makes "exactly
 * one writer per log" hold across instances: the lease is taken, renewed and checked in the same
 * step as the writes it guards. Times come from Redis' clock (TIME), so instances whose clocks
 * disagree still agree on when interest ends.
 */

/**
 * The periodic step of one log on one instance.
 * KEYS: lease, interest, log. ARGV: me, lease ms, ttl ms, mode.
 * mode "stay": this instance has clients (interest until now + ttl; may take a free lease);
 * "leave": its last client just left (interest until now + ttl, never takes the lease);
 * "none": it only writes (renews its lease while anyone anywhere is interested).
 * Returns {state, existed}: 0 let go (nobody is interested any more), 1 still the writer,
 * 2 became the writer (existed = 1 when the log was already there: events may have been lost),
 * 3 another instance writes, or nobody and we may not.
 */
export const TICK = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
local ttl = tonumber(ARGV[3])
if ARGV[4] ~= 'none' then
  redis.call('ZADD', KEYS[2], now + ttl, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], ttl + lease)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local interested = redis.call('ZCARD', KEYS[2])
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  if interested == 0 then
    redis.call('DEL', KEYS[1])
    return {0, 0}
  end
  redis.call('PEXPIRE', KEYS[1], lease)
  return {1, 0}
end
if (not holder) and ARGV[4] == 'stay' then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', lease)
  return {2, redis.call('EXISTS', KEYS[3])}
end
return {3, 0}
`;

/**
 * Appends events (and first a gap marker when asked), fenced by the lease: an instance that lost
 * it appends nothing. Positions continue from the log's last entry; a new log starts at Redis'
 * clock in microseconds, so a log that expired and was made again never reuses a position an old
 * cursor holds (as long as one log gets fewer than a million events a second). An entry someone
 * else added moves positions past its id; a last id too large to stay exact in a double starts
 * the log again, after a gap marker.
 * KEYS: lease, log. ARGV: me, max events, ttl ms, marker (1/0), then topic, data, headers per event.
 * Returns {last position, length} or {-1, 0} when this instance does not hold the lease.
 */
export const APPEND = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1, 0} end
local pos = nil
local marker = ARGV[4] == '1'
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then
  pos = tonumber(string.match(last[1][1], '^(%d+)%-%d+$') or '')
  if pos == nil or pos >= 9007199254000000 then
    redis.call('DEL', KEYS[2])
    pos = nil
    marker = true
  end
end
if pos == nil then
  local t = redis.call('TIME')
  pos = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local maxlen = ARGV[2]
if marker then
  pos = pos + 1
  redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, string.format('%.0f', pos) .. '-0', 'g', '1')
end
for i = 5, #ARGV, 3 do
  pos = pos + 1
  local id = string.format('%.0f', pos) .. '-0'
  if ARGV[i + 2] == '' then
    redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, id, 't', ARGV[i], 'd', ARGV[i + 1])
  else
    redis.call('XADD', KEYS[2], 'MAXLEN', maxlen, id, 't', ARGV[i], 'd', ARGV[i + 1], 'h', ARGV[i + 2])
  end
end
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return {pos, redis.call('XLEN', KEYS[2])}
`;

/** Gives the lease up if this instance holds it. KEYS: lease. ARGV: me. Returns 1 if released. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;
