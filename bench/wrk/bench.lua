-- wrk script of `bun run bench` (bench/main.ts). One script, the path chosen by BENCH_MODE:
--   transfer  POST /transfers between a random pair of the seeded accounts, as the sender
--   connect   the same transfer through Connect (POST /pb.SimpleBank/CreateTransfer, JSON)
--   deposit   POST /accounts/{id}/deposits of 1 into a random account, as the banker
--   read      GET /accounts/{id} of a random account, as its owner
--   entries   GET /accounts/{id}/entries (the statement) of a random account, as its owner
--   login     POST /users/login of a random user
--   floor     GET /accounts/{id} of a random account, no token (the framework-free floor)
-- BENCH_DATA names a file of "username account_id access_token" lines; BENCH_PASSWORD is every
-- user's password; BENCH_BANKER_TOKEN is the banker's access token; BENCH_RUN makes the Idempotency-Keys of this run unique (one per request).
-- Non-2xx answers are counted here; done() prints one line "BENCH_RESULT {json}".
-- BENCH_RATE_PER_THREAD, when set, paces each thread to that many requests per second (below).

local mode = os.getenv("BENCH_MODE") or "transfer"
local run = os.getenv("BENCH_RUN") or tostring(os.time())
local password = os.getenv("BENCH_PASSWORD") or ""
local banker = os.getenv("BENCH_BANKER_TOKEN") or ""

local users = {}
for line in io.lines(os.getenv("BENCH_DATA")) do
  local username, account, token = line:match("^(%S+) (%d+) (%S+)$")
  if username then
    users[#users + 1] = { username = username, account = account, token = token }
  end
end

local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  threads[#threads + 1] = thread
end

-- Globals: done() reads each thread's count with thread:get.
counter = 0
non2xx = 0

function init(args)
  math.randomseed(os.time() * 1000 + id)
  non2xx = 0
end

local function pick()
  return users[math.random(#users)]
end

local function other(from)
  local to = pick()
  while to.account == from.account do
    to = pick()
  end
  return to
end

function request()
  counter = counter + 1
  local key = string.format("%s-%d-%d", run, id, counter)
  if mode == "transfer" then
    local from = pick()
    local to = other(from)
    return wrk.format("POST", "/transfers", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. from.token,
      ["Idempotency-Key"] = key,
    }, string.format(
      '{"from_account_id":%s,"to_account_id":%s,"amount":1,"currency":"USD"}',
      from.account, to.account))
  elseif mode == "connect" then
    local from = pick()
    local to = other(from)
    return wrk.format("POST", "/pb.SimpleBank/CreateTransfer", {
      ["Content-Type"] = "application/json",
      ["Connect-Protocol-Version"] = "1",
      ["Authorization"] = "Bearer " .. from.token,
      ["Idempotency-Key"] = key,
    }, string.format(
      '{"from_account_id":"%s","to_account_id":"%s","amount":"1","currency":"USD"}',
      from.account, to.account))
  elseif mode == "deposit" then
    return wrk.format("POST", "/accounts/" .. pick().account .. "/deposits", {
      ["Content-Type"] = "application/json",
      ["Authorization"] = "Bearer " .. banker,
      ["Idempotency-Key"] = key,
    }, '{"amount":1,"currency":"USD"}')
  elseif mode == "read" then
    local user = pick()
    return wrk.format("GET", "/accounts/" .. user.account, {
      ["Authorization"] = "Bearer " .. user.token,
    })
  elseif mode == "entries" then
    local user = pick()
    return wrk.format("GET", "/accounts/" .. user.account .. "/entries", {
      ["Authorization"] = "Bearer " .. user.token,
    })
  elseif mode == "login" then
    local user = pick()
    return wrk.format("POST", "/users/login", {
      ["Content-Type"] = "application/json",
    }, string.format('{"username":"%s","password":"%s"}', user.username, password))
  elseif mode == "floor" then
    return wrk.format("GET", "/accounts/" .. pick().account)
  end
  error("unknown BENCH_MODE " .. mode)
end

-- Pacing (wrk itself only goes as fast as it can): each thread keeps a schedule of send times
-- 1/rate apart from its start, and delay() holds the next request until its slot, whichever of
-- the thread's connections sends it. A slot missed while every connection waited on an answer
-- is sent at once, so the schedule is kept on average (the load does not drop when the server
-- slows, as a closed loop's would). wrk's latency counts from the actual send.
local rate = tonumber(os.getenv("BENCH_RATE_PER_THREAD") or "")
if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef([[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock, bench_timespec *now);
  ]])
  local CLOCK_MONOTONIC = 1
  local now = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(CLOCK_MONOTONIC, now)
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local slot -- when the thread's next request is due

  function delay()
    local at = now_ms()
    slot = slot or at
    local wait = slot - at
    slot = slot + interval
    return wait > 0 and math.floor(wait) or 0
  end
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("non2xx")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests":%d,"duration_us":%d,"non2xx":%d,"socket_errors":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, total,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
