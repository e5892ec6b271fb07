-- wrk script for the scale benchmark: every request reads a random existing
-- item, GET /{id}/raw, with the id drawn uniformly from the file named by
-- $LKS_BENCH_IDS (one id a line, written by bench/run.sh from the store it
-- filled). Each wrk thread seeds its own generator, so the threads do not
-- read the same sequence of ids. An id that does not exist answers 404,
-- which wrk counts as a non-2xx answer and run.sh reports as an error.
local path = os.getenv("LKS_BENCH_IDS")
if path == nil then
	error("LKS_BENCH_IDS is not set (the file of ids to read)")
end
local ids = {}
for line in io.lines(path) do
	if #line > 0 then
		ids[#ids + 1] = line
	end
end
local n = #ids
if n == 0 then
	error("no ids in " .. path)
end

local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("thread_no", threads)
end

function init(args)
	math.randomseed(os.time() * 1000 + (thread_no or 0))
end

function request()
	return wrk.format("GET", "/" .. ids[math.random(n)] .. "/raw")
end
