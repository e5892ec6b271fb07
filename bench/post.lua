-- wrk script for the POST benchmark: every request creates a new item from
-- the same 1 KiB of bytes (the file named by $LKS_BENCH_BODY, written by
-- bench/run.sh), as a device pushing a file would. wrk's summary counts the
-- answers that are not 2xx/3xx; run.sh checks beforehand that one such
-- request answers 201, and reports that count.
local path = os.getenv("LKS_BENCH_BODY")
if path == nil then
	error("LKS_BENCH_BODY is not set (the file to POST)")
end
local f = assert(io.open(path, "rb"))
local data = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = data
wrk.headers["Content-Type"] = "application/octet-stream"
