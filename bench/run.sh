#!/usr/bin/env bash
# linksync benchmark (`make bench`): measures linksyncd against nginx serving the
# same 1 KiB of random bytes as a static file, in the same run, on loopback, with
# wrk. It reports GET /{id}/raw throughput and p99 latency next to nginx's at two
# connection counts, item creation (POST) with and without --sync-full, the QR
# and item-page endpoints, and linksyncd's RSS idle and with 10,000 idle
# keep-alive connections; then checks the targets of DESIGN.md. Every server it
# starts is stopped on exit (trap); every load is bounded in time (wrk -d).
#
# Environment:
#   LKS_BIN                  linksyncd to measure, as it is (default:
#                            build-bench/linksyncd, first (re)built as a Release
#                            build of the tree)
#   LKS_BENCH_DURATION       seconds per wrk run (default 10)
#   LKS_BENCH_ROUNDS         GET rounds per server and connection count (default 3)
#   LKS_BENCH_IDLE_CONNS     idle connections for the memory test (default 10000)
#   LKS_BENCH_OUT            where the result table is also written
#                            (default bench/results-latest.txt; "-" for none)
#   LKS_BENCH_NGINX_CACHE=1  give nginx an open_file_cache (a stricter yardstick:
#                            no open/fstat/close per request)
#   LKS_BENCH_KEEP=1         keep the temporary directory (logs, wrk outputs)
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
DEFAULT_BIN=$ROOT/build-bench/linksyncd
LKS_BIN=${LKS_BIN:-$DEFAULT_BIN}
DUR=${LKS_BENCH_DURATION:-10}
ROUNDS=${LKS_BENCH_ROUNDS:-3}
IDLE_CONNS=${LKS_BENCH_IDLE_CONNS:-10000}
OUT=${LKS_BENCH_OUT:-$HERE/results-latest.txt}
NGINX_CACHE=${LKS_BENCH_NGINX_CACHE:-0}
CONNS_LIST=(64 256)
WRK_THREADS=2
PUBLIC_URL=http://127.0.0.1
# nginx lives in /usr/sbin, which a non-login root shell may lack.
PATH=$PATH:/usr/sbin:/sbin

die() {
	echo "bench: $*" >&2
	exit 1
}

say() {
	echo "bench: $*" >&2
}

for n in "$DUR" "$ROUNDS" "$IDLE_CONNS"; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "LKS_BENCH_* values must be positive integers (got '$n')"
done
[[ $NGINX_CACHE == 0 || $NGINX_CACHE == 1 ]] || die "LKS_BENCH_NGINX_CACHE must be 0 or 1"
for tool in nginx wrk cc curl cmp awk; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found (Debian: apt-get install -y nginx wrk gcc curl)"
done

# The default binary is (re)built, incrementally, so that it is the tree's; a
# binary given in LKS_BIN is measured as it is.
if [[ $LKS_BIN == "$DEFAULT_BIN" ]]; then
	say "building $DEFAULT_BIN (Release)"
	build_log=$(mktemp /tmp/lks-bench-build.XXXXXX)
	if ! { cmake -S "$ROOT" -B "$ROOT/build-bench" -DCMAKE_BUILD_TYPE=Release &&
		cmake --build "$ROOT/build-bench" -j"$(nproc)" --target linksyncd; } \
		>"$build_log" 2>&1; then
		tail -n 20 "$build_log" >&2
		die "the Release build failed (log: $build_log)"
	fi
	rm -f "$build_log"
fi
[[ -x $LKS_BIN ]] || die "LKS_BIN=$LKS_BIN is not an executable"

# Every idle connection is a descriptor in the server and in the client.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard > 65536)); then
	hard=65536
fi
ulimit -n "$hard"
if ((IDLE_CONNS + 256 > hard)); then
	say "open-file limit is $hard: memory test reduced to $((hard - 256)) connections"
	IDLE_CONNS=$((hard - 256))
fi

WORK=$(mktemp -d /tmp/lks-bench.XXXXXX)
# nginx workers run as www-data and must reach the document root.
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/nginx" "$WORK/wrk" "$WORK/lks"
NGINX_PID=
LKS_PID=
HELPER_PID=

stop_pid() {
	local pid=$1
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for _ in $(seq 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	stop_pid "$HELPER_PID"
	stop_pid "$LKS_PID"
	# SIGTERM to the master is nginx's fast shutdown: it stops its workers.
	stop_pid "$NGINX_PID"
	if [[ ${LKS_BENCH_KEEP:-0} == 1 ]]; then
		say "kept $WORK"
	else
		rm -rf "$WORK"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

BODY=$WORK/www/item.bin
head -c 1024 /dev/urandom >"$BODY"
export LKS_BENCH_BODY=$BODY

# ---------------------------------------------------------------- nginx ---

start_nginx() {
	local conf=$WORK/nginx/nginx.conf user_line='' cache_lines=''
	if [[ $NGINX_CACHE == 1 ]]; then
		cache_lines="open_file_cache max=16 inactive=600s; open_file_cache_valid 600s;"
	fi
	if [[ $(id -u) == 0 ]]; then
		if id www-data >/dev/null 2>&1; then
			user_line="user www-data;"
		else
			user_line="user nobody nogroup;"
		fi
	fi
	for _ in $(seq 20); do
		# Below the ephemeral range (32768+), so wrk's own sockets never hold it.
		NGINX_PORT=$((20000 + RANDOM % 12000))
		cat >"$conf" <<EOF
$user_line
worker_processes auto;
daemon off;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
events {
	worker_connections 4096;
}
http {
	access_log off;
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	keepalive_requests 100000;
	keepalive_timeout 300s;
	$cache_lines
	default_type application/octet-stream;
	types { }
	client_body_temp_path $WORK/nginx/body;
	proxy_temp_path $WORK/nginx/proxy;
	fastcgi_temp_path $WORK/nginx/fastcgi;
	uwsgi_temp_path $WORK/nginx/uwsgi;
	scgi_temp_path $WORK/nginx/scgi;
	server {
		listen 127.0.0.1:$NGINX_PORT;
		root $WORK/www;
		location / { }
	}
}
EOF
		nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$conf" \
			>"$WORK/nginx/stdout.log" 2>&1 &
		NGINX_PID=$!
		for _ in $(seq 50); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			# Still alive after answering: the answer was ours, not that of
			# some other server on the port (the bytes are compared later).
			if curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/item.bin" &&
				sleep 0.2 && kill -0 "$NGINX_PID" 2>/dev/null; then
				return 0
			fi
			sleep 0.1
		done
		stop_pid "$NGINX_PID"
		NGINX_PID=
		grep -q "Address already in use" "$WORK/nginx/error.log" 2>/dev/null ||
			die "nginx did not start: $(tail -n 5 "$WORK/nginx/error.log" 2>/dev/null)"
	done
	die "nginx found no free port"
}

# ------------------------------------------------------------ linksyncd ---

# start_lks NAME [FLAGS...]: a fresh linksyncd on a fresh store; sets LKS_PID
# and LKS_PORT.
start_lks() {
	local name=$1 log=$WORK/lks/$1.log
	shift
	rm -f "$WORK/lks/$name.db"*
	"$LKS_BIN" --quiet --listen 127.0.0.1:0 --store "sqlite:$WORK/lks/$name.db" \
		--public-url "$PUBLIC_URL" --max-connections 20000 --timeout 300 "$@" \
		2>"$log" &
	LKS_PID=$!
	LKS_PORT=
	for _ in $(seq 100); do
		kill -0 "$LKS_PID" 2>/dev/null || die "linksyncd exited: $(tail -n 5 "$log")"
		LKS_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)
		[[ -n $LKS_PORT ]] && return 0
		sleep 0.1
	done
	die "linksyncd did not report its port: $(tail -n 5 "$log")"
}

stop_lks() {
	stop_pid "$LKS_PID"
	LKS_PID=
}

# push_item: POSTs the 1 KiB body; prints the new item's id.
push_item() {
	local out=$WORK/lks/push.json code id
	code=$(curl -s -o "$out" -w '%{http_code}' -X POST --data-binary "@$BODY" \
		-H 'Content-Type: application/octet-stream' \
		"http://127.0.0.1:$LKS_PORT/api/v1/items")
	[[ $code == 201 ]] || die "POST /api/v1/items answered $code: $(head -c 300 "$out")"
	id=$(sed -n 's/^ *"id": *"\([a-z0-9]*\)".*/\1/p' "$out" | head -n 1)
	[[ -n $id ]] || die "no id in the POST answer: $(head -c 300 "$out")"
	echo "$id"
}

# check_get URL CODE TYPE_PREFIX [HEADER]: one request must answer CODE with a
# Content-Type starting with TYPE_PREFIX, so a benchmark never measures errors.
check_get() {
	local url=$1 want=$2 type=$3 hdr=${4:-X-Bench: 1} got
	got=$(curl -s -o /dev/null -H "$hdr" -w '%{http_code} %{content_type}' "$url")
	[[ $got == "$want $type"* ]] || die "GET $url answered '$got', expected '$want $type...'"
}

# ------------------------------------------------------------- measuring ---

CLK_TCK=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'

# cpu_ticks PID: user+system ticks of a process and of its direct children
# (nginx's workers), all threads included.
cpu_ticks() {
	local root=$1
	# Field 2 (the command name) is in parentheses and may hold spaces: cut
	# through the last ") ". After it, ppid is f[2], utime f[12], stime f[13].
	# cat, not awk, reads the files: a process may end during the scan, and
	# mawk stops at a file it cannot open.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$root" '
		{
			pid = $1
			line = $0
			sub(/^.*\) /, "", line)
			split(line, f, " ")
			if (pid == root || f[2] == root)
				sum += f[12] + f[13]
		}
		END { print sum + 0 }'
}

# to_ms VALUE: wrk latency ("812.00us", "1.23ms", "1.01s", "2.00m") in ms.
to_ms() {
	awk -v v="$1" 'BEGIN {
		n = v + 0
		if (v ~ /us$/) n /= 1000
		else if (v ~ /ms$/) n = n
		else if (v ~ /m$/) n *= 60000
		else if (v ~ /s$/) n *= 1000
		printf "%.2f", n
	}'
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 }
		END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# run_wrk KEY URL CONNS SERVER_PID [LUA_SCRIPT]: one bounded wrk run; stores
# RPS[KEY], P99[KEY] (ms), ERR[KEY] (non-2xx/3xx answers + socket errors),
# CPU[KEY] (server CPU microseconds per request) and WCPU[KEY] (wrk's).
declare -A RPS P99 ERR ERRNOTE CPU WCPU MED_RPS MED_P99 MED_COST
run_wrk() {
	local key=$1 url=$2 conns=$3 pid=$4 script=${5:-} out=$WORK/wrk/$1.txt
	local t0 t1 reqs non2xx sockerr p99raw args=()
	[[ -n $script ]] && args=(-s "$HERE/$script")
	t0=$(cpu_ticks "$pid")
	# `time` gives wrk's own CPU time: the load generator's share of the CPUs.
	# wrk leaves answers slower than its timeout out of the latency histogram
	# (it counts them as errors): 10 s keeps slow answers in the p99.
	{ time wrk -t"$WRK_THREADS" -c"$conns" -d"${DUR}s" --timeout 10s --latency "${args[@]}" \
		"$url" >"$out" 2>&1; } 2>"$out.time" || die "wrk failed: $(tail -n 5 "$out")"
	t1=$(cpu_ticks "$pid")
	kill -0 "$pid" 2>/dev/null || die "the server (pid $pid) exited during $key"
	# A failing script leaves wrk sending plain GETs: that is no result.
	if grep -q '\.lua:' "$out"; then
		die "wrk script error in $key: $(grep -m 1 '\.lua:' "$out")"
	fi
	RPS[$key]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	[[ -n ${RPS[$key]} ]] || die "no Requests/sec in wrk output: $(cat "$out")"
	p99raw=$(awk '$1 == "99%" { print $2 }' "$out")
	P99[$key]=$(to_ms "$p99raw")
	reqs=$(awk '/ requests in / { print $1 }' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
	ERR[$key]=$((${non2xx:-0} + ${sockerr:-0}))
	if ((ERR[$key] > 0)); then
		ERRNOTE[$key]="$key: ${non2xx:-0} non-2xx/3xx answers; $(awk \
			'/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' "$out")"
		ERRNOTE[$key]=${ERRNOTE[$key]%; }
	fi
	CPU[$key]=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v r="$reqs" \
		'BEGIN { printf "%.1f", (r > 0 ? d * 1e6 / hz / r : 0) }')
	WCPU[$key]=$(awk -v r="$reqs" '{ printf "%.1f", (r > 0 ? ($1 + $2) * 1e6 / r : 0) }' "$out.time")
	say "$(printf '%-24s %8s req/s  p99 %7s ms  errors %s' "$key" "${RPS[$key]}" "${P99[$key]}" "${ERR[$key]}")"
}

rss_kib() {
	awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

# ------------------------------------------------------------------ run ---

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
say "linksyncd: $LKS_BIN; $DUR s per run, $ROUNDS GET rounds; work dir $WORK"
say "load average before the run: $LOAD_START"
start_nginx
NGINX_URL=http://127.0.0.1:$NGINX_PORT/item.bin
start_lks main
ID=$(push_item)
LKS_BASE=http://127.0.0.1:$LKS_PORT
LKS_URL=$LKS_BASE/$ID/raw

curl -sf -o "$WORK/nginx.got" "$NGINX_URL" || die "nginx did not serve the file"
curl -sf -o "$WORK/lks.got" "$LKS_URL" || die "linksyncd did not serve the item"
cmp -s "$BODY" "$WORK/nginx.got" || die "nginx served other bytes"
cmp -s "$BODY" "$WORK/lks.got" || die "linksyncd served other bytes"
check_get "$LKS_BASE/$ID/qr.svg" 200 image/svg+xml
check_get "$LKS_BASE/$ID/qr.png" 200 image/png
check_get "$LKS_BASE/$ID" 200 text/html "Accept: text/html"

# 1. GET: a short warm-up of each, then alternating rounds, so drift in the
# machine's state hits both servers alike.
say "GET /raw against nginx"
wrk -t"$WRK_THREADS" -c64 -d2s "$NGINX_URL" >/dev/null 2>&1 || die "wrk warm-up failed"
wrk -t"$WRK_THREADS" -c64 -d2s "$LKS_URL" >/dev/null 2>&1 || die "wrk warm-up failed"
for c in "${CONNS_LIST[@]}"; do
	for r in $(seq "$ROUNDS"); do
		run_wrk "get-nginx-c$c-r$r" "$NGINX_URL" "$c" "$NGINX_PID"
		run_wrk "get-lks-c$c-r$r" "$LKS_URL" "$c" "$LKS_PID"
	done
done

# 2. The QR images and the item page.
say "QR and page endpoints"
run_wrk qr-svg "$LKS_BASE/$ID/qr.svg" 64 "$LKS_PID"
run_wrk qr-png "$LKS_BASE/$ID/qr.png" 64 "$LKS_PID"
run_wrk page "$LKS_BASE/$ID" 64 "$LKS_PID" html.lua
HWM_MAIN=$(rss_kib "$LKS_PID" VmHWM)

# 3. POST: item creation, default durability, then --sync-full on a fresh store.
say "POST /api/v1/items"
run_wrk post "$LKS_BASE/api/v1/items" 64 "$LKS_PID" post.lua
HWM_MAIN=$(rss_kib "$LKS_PID" VmHWM)
stop_lks
stop_pid "$NGINX_PID"
NGINX_PID=
SYNC_FULL=0
if "$LKS_BIN" --help 2>&1 | grep -q -- '--sync-full'; then
	SYNC_FULL=1
	start_lks syncfull --sync-full
	push_item >/dev/null
	run_wrk post-sync-full "http://127.0.0.1:$LKS_PORT/api/v1/items" 64 "$LKS_PID" post.lua
	stop_lks
fi

# 4. Memory: a fresh server, idle, then holding IDLE_CONNS keep-alive
# connections that each completed one request.
say "memory with $IDLE_CONNS idle connections"
cc -std=c11 -O2 -Wall -Wextra -o "$WORK/idle_conns" "$HERE/idle_conns.c"
start_lks memory
push_item >/dev/null
sleep 1
RSS_IDLE=$(rss_kib "$LKS_PID" VmRSS)
"$WORK/idle_conns" "$LKS_PORT" "$IDLE_CONNS" 8 >"$WORK/idle.out" 2>"$WORK/idle.err" &
HELPER_PID=$!
for _ in $(seq 1200); do
	grep -q '^ready' "$WORK/idle.out" 2>/dev/null && break
	kill -0 "$HELPER_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^ready' "$WORK/idle.out" || die "idle_conns did not get ready: $(cat "$WORK/idle.err")"
sleep 2
RSS_CONNS=$(rss_kib "$LKS_PID" VmRSS)
wait "$HELPER_PID" || true
HELPER_PID=
CONNS_OPEN=$(awk '$1 == "open" { print $2 }' "$WORK/idle.out")
CONNS_FAILED=$(awk '$1 == "open" { print $4 }' "$WORK/idle.out")
CONNS_ALIVE=$(awk '$1 == "alive" { print $2 }' "$WORK/idle.out")
stop_lks

# --------------------------------------------------------------- report ---

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT=$WORK/report.txt
{
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || commit="$commit+dirty"
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "linksync benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit"
	echo "linksyncd: $LKS_BIN, built $(date -u -r "$LKS_BIN" '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) CPUs ($cpu); $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -n 1 | awk '{ print "wrk " $2 }')"
	echo "runs: wrk -t$WRK_THREADS -cN -d${DUR}s --timeout 10s --latency, keep-alive, loopback; wrk shares the CPUs with the server"
	if [[ $NGINX_CACHE == 1 ]]; then
		echo "nginx: static file, sendfile, access_log off, open_file_cache on (LKS_BENCH_NGINX_CACHE=1)"
	else
		echo "nginx: static file, sendfile, access_log off, no open_file_cache (LKS_BENCH_NGINX_CACHE=1 adds it)"
	fi
	echo "cpu us/req: server CPU time (user+sys, all threads/workers) per answered request"
	echo "load average (1/5/15 min): $LOAD_START before, $LOAD_END after; other processes on the machine share the CPUs too"
	echo
	echo "GET 1 KiB, median of $ROUNDS rounds (nginx: static file; linksyncd: GET /{id}/raw)"
	printf '%-6s %-10s %9s %8s %11s %10s %7s %9s %10s\n' conns server 'req/s' 'p99 ms' 'cpu us/req' \
		'wrk us/req' errors 'vs nginx' 'cost ratio'
	for c in "${CONNS_LIST[@]}"; do
		for s in nginx lks; do
			rs=() ps=() cs=() ws=() errs=0
			for r in $(seq "$ROUNDS"); do
				k=get-$s-c$c-r$r
				rs+=("${RPS[$k]}") ps+=("${P99[$k]}") cs+=("${CPU[$k]}") ws+=("${WCPU[$k]}")
				errs=$((errs + ${ERR[$k]}))
			done
			MED_RPS[$s$c]=$(median "${rs[@]}")
			MED_P99[$s$c]=$(median "${ps[@]}")
			cpu_med=$(median "${cs[@]}")
			wrk_med=$(median "${ws[@]}")
			MED_COST[$s$c]=$(awk -v a="$cpu_med" -v b="$wrk_med" 'BEGIN { print a + b }')
			rel='' cost=''
			if [[ $s == lks ]]; then
				rel="$(ratio "${MED_RPS[lks$c]}" "${MED_RPS[nginx$c]}")x"
				cost="$(ratio "${MED_COST[nginx$c]}" "${MED_COST[lks$c]}")x"
			fi
			name=$s
			[[ $s == lks ]] && name=linksyncd
			printf '%-6s %-10s %9.0f %8s %11s %10s %7s %9s %10s\n' "$c" "$name" "${MED_RPS[$s$c]}" \
				"${MED_P99[$s$c]}" "$cpu_med" "$wrk_med" "$errs" "$rel" "$cost"
		done
	done
	echo "cost ratio: (nginx + wrk CPU per request) / (linksyncd + wrk CPU per request), the req/s"
	echo "ratio to expect when the CPUs are the limit and nothing else runs: steadier on a busy machine"
	echo "rounds (req/s):"
	for c in "${CONNS_LIST[@]}"; do
		for s in nginx lks; do
			line=
			for r in $(seq "$ROUNDS"); do
				line="$line ${RPS[get-$s-c$c-r$r]}"
			done
			printf '  c%-4s %-10s%s\n' "$c" "$s" "$line"
		done
	done
	echo
	echo "POST /api/v1/items, 1 KiB application/octet-stream, -c64 (errors: non-2xx answers + socket errors)"
	printf '%-14s %9s %8s %11s %10s %7s %11s %13s %12s\n' run 'req/s' 'p99 ms' 'cpu us/req' \
		'wrk us/req' errors 'vs lks GET' 'vs nginx GET' 'cost vs GET'
	post_keys=(post)
	((SYNC_FULL)) && post_keys+=(post-sync-full)
	for k in "${post_keys[@]}"; do
		name=default
		[[ $k == post-sync-full ]] && name=--sync-full
		printf '%-14s %9s %8s %11s %10s %7s %10sx %12sx %11sx\n' "$name" "${RPS[$k]}" "${P99[$k]}" \
			"${CPU[$k]}" "${WCPU[$k]}" "${ERR[$k]}" "$(ratio "${RPS[$k]}" "${MED_RPS[lks64]}")" \
			"$(ratio "${RPS[$k]}" "${MED_RPS[nginx64]}")" \
			"$(ratio "${MED_COST[lks64]}" "$(awk -v a="${CPU[$k]}" -v b="${WCPU[$k]}" 'BEGIN { print a + b }')")"
	done
	((SYNC_FULL)) || echo "(--sync-full: not offered by this linksyncd)"
	echo "cost vs GET: linksyncd's GET cost (server+wrk CPU per request, -c64) / this run's"
	echo
	echo "QR images and item page, -c64"
	printf '%-22s %9s %8s %11s %10s %7s %11s\n' endpoint 'req/s' 'p99 ms' 'cpu us/req' 'wrk us/req' \
		errors 'vs raw GET'
	for k in qr-svg qr-png page; do
		case $k in
		qr-svg) name="GET /{id}/qr.svg" ;;
		qr-png) name="GET /{id}/qr.png" ;;
		page) name="GET /{id} (text/html)" ;;
		esac
		printf '%-22s %9s %8s %11s %10s %7s %10sx\n' "$name" "${RPS[$k]}" "${P99[$k]}" "${CPU[$k]}" \
			"${WCPU[$k]}" "${ERR[$k]}" "$(ratio "${RPS[$k]}" "${MED_RPS[lks64]}")"
	done
	echo
	echo "memory (linksyncd VmRSS)"
	printf '  idle, fresh server with one item:         %8.1f MiB\n' "$(awk -v k="$RSS_IDLE" 'BEGIN { print k / 1024 }')"
	printf '  with %5d idle keep-alive connections:    %8.1f MiB  (%s opened, %s failed, %s still open after the hold)\n' \
		"$IDLE_CONNS" "$(awk -v k="$RSS_CONNS" 'BEGIN { print k / 1024 }')" "$CONNS_OPEN" "$CONNS_FAILED" "$CONNS_ALIVE"
	printf '  per connection:                           %8.1f KiB\n' \
		"$(awk -v a="$RSS_CONNS" -v b="$RSS_IDLE" -v n="$CONNS_OPEN" 'BEGIN { print (n > 0 ? (a - b) / n : 0) }')"
	printf '  peak of the load-test server (VmHWM):     %8.1f MiB\n' "$(awk -v k="$HWM_MAIN" 'BEGIN { print k / 1024 }')"
	echo
	echo "targets (DESIGN.md)"
	verdict() { if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; then echo "ok  "; else echo "MISS"; fi; }
	for c in "${CONNS_LIST[@]}"; do
		r=$(ratio "${MED_RPS[lks$c]}" "${MED_RPS[nginx$c]}")
		echo "  $(verdict "$r" 1.0) GET c$c >= 1.0x nginx (aim 1.6x): ${r}x"
	done
	r=$(ratio "${RPS[post]}" "${MED_RPS[lks64]}")
	echo "  $(verdict "$r" 0.25) POST >= 0.25x linksyncd GET: ${r}x"
	p=${MED_P99[lks256]}
	echo "  $(verdict 5 "$p") GET p99 at c256 < 5 ms: $p ms"
	m=$(awk -v k="$RSS_CONNS" 'BEGIN { printf "%.1f", k / 1024 }')
	echo "  $(verdict 64 "$m") RSS at $IDLE_CONNS idle connections < 64 MiB: $m MiB"
	errs=0
	for k in "${!ERR[@]}"; do
		errs=$((errs + ${ERR[$k]}))
	done
	if ((errs == 0)) && [[ $CONNS_OPEN == "$IDLE_CONNS" ]]; then
		echo "  ok   every request answered 2xx/3xx, every idle connection opened"
	else
		echo "  FAIL $errs failed requests, $CONNS_FAILED failed idle connections: those numbers are not results"
		for k in "${!ERRNOTE[@]}"; do
			echo "       ${ERRNOTE[$k]} (wrk counts answers slower than 10 s as timeouts)"
		done
	fi
} >"$REPORT"

echo
cat "$REPORT"
if [[ $OUT != - ]]; then
	cp "$REPORT" "$OUT"
	say "also written to $OUT"
fi
