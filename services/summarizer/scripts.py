"""Lua scripts that make each write atomic and idempotent (Redis 7 core commands only).

Run with EVALSHA; every key a script touches is passed in KEYS. Float arguments are Python
``repr`` strings, which Redis and Lua read back exactly.
"""

#: Writes one window's timeline entry. KEYS: streams, meta, timeline, entries, failed, updates.
#: ARGV: stream id, window id, start, end, entry JSON, rank, failed (0/1), now (unix), updates maxlen.
#: Returns 1 new entry, 2 replaced an entry, 0 identical entry already stored (redelivery: nothing
#: changes, nothing is pushed), -1 kept the stored entry because it has a higher rank.
WRITE_ENTRY = """
-- Check, then write: a Lua script is not rolled back by an error, so nothing may fail after the first write.
local s, e = tonumber(ARGV[3]), tonumber(ARGV[4])
if not s or not e or s ~= s or e ~= e or s < 0 or e < s or e == math.huge then
  return redis.error_reply('invalid time span ' .. ARGV[3] .. '..' .. ARGV[4] .. ' of window ' .. ARGV[2])
end
local old = redis.call('HGET', KEYS[4], ARGV[2])
local status = 1
if old then
  if old == ARGV[5] then return 0 end
  local prev = cjson.decode(old)
  if tonumber(ARGV[6]) < tonumber(prev['rank'] or 0) then return -1 end
  status = 2
end
redis.call('HSET', KEYS[4], ARGV[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[2])
else
  redis.call('ZREM', KEYS[5], ARGV[2])
end
redis.call('SADD', KEYS[1], ARGV[1])
local last = redis.call('HGET', KEYS[2], 'last_end')
if (not last) or tonumber(ARGV[4]) > tonumber(last) then
  redis.call('HSET', KEYS[2], 'last_end', ARGV[4])
end
redis.call('HSET', KEYS[2], 'updated', ARGV[8])
redis.call('XADD', KEYS[6], 'MAXLEN', '~', ARGV[9], '*',
           'stream', ARGV[1], 'kind', 'entry', 'data', ARGV[5])
return status
"""

#: Records one stream event. KEYS: streams, meta, events, updates.
#: ARGV: stream id, event JSON, event time, state, source ('' = unknown), events kept, now,
#: updates maxlen. The state only moves forward in event time, so a redelivered old event never
#: overwrites a newer state. Returns 1 recorded, 0 already recorded (redelivery).
WRITE_EVENT = """
if redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2]) == 0 then return 0 end
redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -(tonumber(ARGV[6]) + 1))
redis.call('SADD', KEYS[1], ARGV[1])
local t = redis.call('HGET', KEYS[2], 'state_time')
if (not t) or tonumber(ARGV[3]) >= tonumber(t) then
  redis.call('HSET', KEYS[2], 'state', ARGV[4], 'state_time', ARGV[3])
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[2], 'source', ARGV[5]) end
redis.call('HSET', KEYS[2], 'updated', ARGV[7])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[8], '*',
           'stream', ARGV[1], 'kind', 'event', 'data', ARGV[2])
return 1
"""
