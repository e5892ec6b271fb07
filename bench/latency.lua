-- wrk script for the latency section of bench/run.sh. It prints the latency
-- percentiles that wrk's --latency leaves out (p99.9, max) on a line
-- "lks-latency ...", and, when $LKS_WRK_RATE is set, paces the requests so
-- that all connections together offer that many per second (over
-- $LKS_WRK_THREADS wrk threads, default 1) and prints "lks-rate ...".
--
-- Pacing uses wrk's delay() hook: after each answer wrk asks delay() how many
-- milliseconds the connection waits before its next request. Each thread
-- keeps one schedule of send slots, one every threads/RATE seconds, and hands
-- the next slot to whichever connection asks, so the offered rate does not
-- depend on the latency as long as a connection is free when a slot falls
-- due. When none is (all are waiting for answers), the slot's request leaves
-- late, as soon as a connection frees up. wrk starts the clock of a request
-- when it sends it, after the delay, so that wait is missing from the
-- latencies (coordinated omission): the script counts those late sends and
-- the longest wait, so the report says how much was left out. wrk's timers
-- have a resolution of 1 ms, so sends are grouped per millisecond.
--
-- Needs LuaJIT (Debian's wrk is built with it): ffi gives a microsecond clock.
local ffi = require("ffi")
ffi.cdef([[
struct lks_timespec { long tv_sec; long tv_nsec; };
int clock_gettime(int clk_id, struct lks_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("struct lks_timespec")

local function now_us()
	ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
	return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local rate = tonumber(os.getenv("LKS_WRK_RATE") or "")
local nthreads = tonumber(os.getenv("LKS_WRK_THREADS") or "1")
-- A slot that has been due longer than this when a connection takes it
-- counts as late: below it, the 1 ms timer resolution dominates.
local LATE_US = 1000

local threads = {}

function setup(thread)
	threads[#threads + 1] = thread
end

if rate ~= nil then
	if rate <= 0 or nthreads == nil or nthreads < 1 then
		error("LKS_WRK_RATE must be > 0 and LKS_WRK_THREADS >= 1")
	end
	local interval = nthreads * 1e6 / rate
	local next_slot = nil
	-- Globals, so that done() can read them from each thread.
	lks_slots = 0
	lks_late = 0
	lks_late_max = 0

	function delay()
		local t = now_us()
		if next_slot == nil then
			next_slot = t
		end
		local slot = next_slot
		next_slot = slot + interval
		lks_slots = lks_slots + 1
		if slot <= t then
			local late = t - slot
			if late > LATE_US then
				lks_late = lks_late + 1
			end
			if late > lks_late_max then
				lks_late_max = late
			end
			return 0
		end
		return math.floor((slot - t) / 1000 + 0.5)
	end
end

function done(summary, latency, requests)
	io.write(string.format("lks-latency p50_us %d p90_us %d p99_us %d p999_us %d max_us %d mean_us %d\n",
		latency:percentile(50), latency:percentile(90), latency:percentile(99),
		latency:percentile(99.9), latency.max, latency.mean))
	if rate ~= nil then
		local slots, late, late_max = 0, 0, 0
		for _, t in ipairs(threads) do
			slots = slots + (t:get("lks_slots") or 0)
			late = late + (t:get("lks_late") or 0)
			late_max = math.max(late_max, t:get("lks_late_max") or 0)
		end
		io.write(string.format("lks-rate target %d slots %d late %d late_max_us %d\n",
			rate, slots, late, late_max))
	end
end
