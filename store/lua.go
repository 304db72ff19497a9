package store

// Lua helpers that several scripts start with. Each script is still one
// script value beside the method that runs it; these are only prepended to
// its source so that the lease clock, the fencing check and the wake tokens
// are written once.

// serverClockLua defines nowMs(): the Redis server's clock in milliseconds.
// Lease deadlines use it rather than the caller's clock because several
// service instances, whose clocks may be skewed, share one Redis: a deadline
// set by one instance is judged expired by another's reaper, so both must
// read the same clock.
const serverClockLua = `
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`

// fenceLua defines holdsLease(jobKey, leasesKey, jobID, token): the server
// time in ms if the caller still holds the job's lease, else false. A holder
// whose deadline has passed has lost the lease even before the reaper
// requeues the job, so exactly one rule decides who may act on a job.
const fenceLua = serverClockLua + `
local function holdsLease(jobKey, leasesKey, jobID, token)
  local job = redis.call('HMGET', jobKey, 'status', 'leaseToken')
  if job[1] ~= 'processing' or job[2] ~= token then
    return false
  end
  local deadline = redis.call('ZSCORE', leasesKey, jobID)
  local now = nowMs()
  if not deadline or tonumber(deadline) <= now then
    return false
  end
  return now
end
`

// wakeLua defines wake(wakeKey, count, trimStop): push count wake tokens and
// cap the list, so that tokens nobody waits for cannot pile up. A stale
// token costs a worker one empty Lease call.
const wakeLua = `
local function wake(wakeKey, count, trimStop)
  for i = 1, count do
    redis.call('LPUSH', wakeKey, '1')
  end
  redis.call('LTRIM', wakeKey, 0, trimStop)
end
`

// wakeupCapacity is how many wake tokens the wakeup list keeps.
const wakeupCapacity = 1000

// wakeupTrimStop is the LTRIM stop index that keeps wakeupCapacity tokens.
const wakeupTrimStop = wakeupCapacity - 1
