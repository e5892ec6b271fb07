#!/usr/bin/env bash
# linksync benchmark (`make bench`): measures linksyncd against nginx serving the
# same 1 KiB of random bytes as a static file, in the same run, on loopback, with
# wrk. Sections (all by default, or those named on the command line, in this
# order):
#   get     GET /{id}/raw on SQLite next to nginx at 64 and 256 connections
#           (and once more with the read cache off, at 64)
#   qr      the QR images and the item page
#   post    item creation: default durability and --sync-full, each with and
#           without group commit when linksyncd has --group-commit
#   pg      GET /{id}/raw and POST on PostgreSQL (a throwaway cluster from
#           scripts/pg.sh), GET again next to nginx (and with --cache 0)
#   latency GET /{id}/raw at 256 connections with the server (and PostgreSQL)
#           pinned to CPU 0 and wrk to CPU 1: closed loop (saturation), then
#           a fixed offered rate (bench/latency.lua); p50, p99, p99.9
#   memory  RSS idle and with 10,000 idle keep-alive connections
#   scale   stores filled directly with 10^4, 10^5 (and 10^6) items, SQLite
#           and PostgreSQL: latency of reads of random ids, the sweeper's cost
#           when nothing is due, and the time to sweep all of them expired
# It reports req/s, p99 latency and the CPU time per request of the server
# (with PostgreSQL's processes) and of wrk, and checks the targets of
# DESIGN.md. Every server it starts is stopped on exit (trap); every load is
# bounded in time (wrk -d, polling deadlines).
#
# usage: bench/run.sh [get] [qr] [post] [pg] [latency] [memory] [scale]
#
# Environment:
#   LKS_BIN                  linksyncd to measure, as it is (default:
#                            build-bench/linksyncd, first (re)built as a Release
#                            build of the tree)
#   LKS_BENCH_DURATION       seconds per wrk run (default 10)
#   LKS_BENCH_ROUNDS         GET rounds per server and connection count (default 3)
#   LKS_BENCH_LAT_ROUNDS     rounds per server and mode of the latency section
#                            (default 2)
#   LKS_BENCH_RATE           offered rate of the fixed-rate runs, requests/s
#                            (default: half of nginx's pinned closed-loop rate)
#   LKS_BENCH_LAT_THREADS    linksyncd's --threads in the latency section
#                            (default 1: one CPU, one thread, as nginx's worker)
#   LKS_BENCH_IDLE_CONNS     idle connections for the memory test (default 10000)
#   LKS_BENCH_SCALE_MAX      largest store of the scale section: 10000, 100000
#                            (default) or 1000000 (adds minutes: see README)
#   LKS_BENCH_SWEEP_TIMEOUT  seconds to wait for a sweep to empty a store (600)
#   LKS_BENCH_COMPACT_WAIT   seconds to wait, after a SQLite sweep, for the
#                            space to be given back (default 60)
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
LAT_ROUNDS=${LKS_BENCH_LAT_ROUNDS:-2}
LAT_RATE=${LKS_BENCH_RATE:-}
LAT_THREADS=${LKS_BENCH_LAT_THREADS:-1}
IDLE_CONNS=${LKS_BENCH_IDLE_CONNS:-10000}
SCALE_MAX=${LKS_BENCH_SCALE_MAX:-100000}
SWEEP_TIMEOUT=${LKS_BENCH_SWEEP_TIMEOUT:-600}
COMPACT_WAIT=${LKS_BENCH_COMPACT_WAIT:-60}
OUT=${LKS_BENCH_OUT:-$HERE/results-latest.txt}
NGINX_CACHE=${LKS_BENCH_NGINX_CACHE:-0}
CONNS_LIST=(64 256)
WRK_THREADS=2
PUBLIC_URL=http://127.0.0.1
ALL_SECTIONS=(get qr post pg latency memory scale)
# The scale section's wrk script draws from at most this many ids of the
# store (a uniform sample of it): a million ids would cost each wrk thread
# seconds and ~100 MB to load.
SCALE_SAMPLE=100000
# nginx lives in /usr/sbin, which a non-login root shell may lack.
PATH=$PATH:/usr/sbin:/sbin

die() {
	echo "bench: $*" >&2
	exit 1
}

say() {
	echo "bench: $*" >&2
}

usage() {
	echo "usage: $0 [${ALL_SECTIONS[*]}]   (no argument: all sections)" >&2
	exit 2
}

declare -A SEL=()
if (($# == 0)); then
	for s in "${ALL_SECTIONS[@]}"; do
		SEL[$s]=1
	done
else
	for a in "$@"; do
		case $a in
		get | qr | post | pg | latency | memory | scale) SEL[$a]=1 ;;
		all) for s in "${ALL_SECTIONS[@]}"; do SEL[$s]=1; done ;;
		-h | --help) usage ;;
		*) echo "bench: unknown section '$a'" >&2; usage ;;
		esac
	done
fi
want() {
	[[ -n ${SEL[$1]:-} ]]
}

for n in "$DUR" "$ROUNDS" "$LAT_ROUNDS" "$LAT_THREADS" "$IDLE_CONNS" "$SWEEP_TIMEOUT" "$COMPACT_WAIT" ${LAT_RATE:+"$LAT_RATE"}; do
	[[ $n =~ ^[1-9][0-9]*$ ]] || die "LKS_BENCH_* values must be positive integers (got '$n')"
done
case $SCALE_MAX in
10000 | 100000 | 1000000) ;;
*) die "LKS_BENCH_SCALE_MAX must be 10000, 100000 or 1000000 (got '$SCALE_MAX')" ;;
esac
[[ $NGINX_CACHE == 0 || $NGINX_CACHE == 1 ]] || die "LKS_BENCH_NGINX_CACHE must be 0 or 1"
tools=(wrk cc curl cmp awk)
(want get || want pg || want latency) && tools+=(nginx)
want latency && tools+=(taskset ps)
want scale && tools+=(sqlite3 shuf)
for tool in "${tools[@]}"; do
	command -v "$tool" >/dev/null ||
		die "'$tool' not found (Debian: apt-get install -y nginx wrk gcc curl sqlite3)"
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
LKS_HELP=$("$LKS_BIN" --help 2>&1 || true)
has_flag() {
	grep -q -- "$1" <<<"$LKS_HELP"
}

# Every idle connection is a descriptor in the server and in the client.
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]] || ((hard > 65536)); then
	hard=65536
fi
ulimit -n "$hard"
if want memory && ((IDLE_CONNS + 256 > hard)); then
	say "open-file limit is $hard: memory test reduced to $((hard - 256)) connections"
	IDLE_CONNS=$((hard - 256))
fi

WORK=$(mktemp -d /tmp/lks-bench.XXXXXX)
# nginx workers run as www-data and PostgreSQL as postgres: both must reach
# their folders in here.
chmod 755 "$WORK"
mkdir -p "$WORK/www" "$WORK/nginx" "$WORK/wrk" "$WORK/lks" "$WORK/scale" "$WORK/report"
NGINX_PID=
# nginx's worker count, and a command prefix for the servers started (nginx,
# linksyncd) and one for wrk: the latency section pins them to CPUs with
# taskset.
NGINX_WORKERS=auto
PIN=()
WRK_PIN=()
LKS_PID=
MAIN_PID=
NOCACHE_PID=
HELPER_PID=
LAT_PIDS=()
PG_DIR=
PG_PID=

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
	local rc=$? pid
	trap - EXIT INT TERM
	stop_pid "$HELPER_PID"
	stop_pid "$LKS_PID"
	stop_pid "$MAIN_PID"
	stop_pid "$NOCACHE_PID"
	for pid in "${LAT_PIDS[@]}"; do
		stop_pid "$pid"
	done
	# SIGTERM to the master is nginx's fast shutdown: it stops its workers.
	stop_pid "$NGINX_PID"
	if [[ -n $PG_DIR ]]; then
		"$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1 || say "could not stop PostgreSQL in $PG_DIR"
	fi
	if ((rc != 0)) && compgen -G "$WORK/report/*.txt" >/dev/null; then
		say "stopped early; results so far:"
		cat "$WORK"/report/*.txt >&2
	fi
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
	[[ -z $NGINX_PID ]] || return 0
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
worker_processes $NGINX_WORKERS;
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
		"${PIN[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/error.log" -c "$conf" \
			>"$WORK/nginx/stdout.log" 2>&1 &
		NGINX_PID=$!
		for _ in $(seq 50); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			# Still alive after answering: the answer was ours, not that of
			# some other server on the port (the bytes are compared later).
			if curl -sf -o /dev/null "http://127.0.0.1:$NGINX_PORT/item.bin" &&
				sleep 0.2 && kill -0 "$NGINX_PID" 2>/dev/null; then
				NGINX_URL=http://127.0.0.1:$NGINX_PORT/item.bin
				curl -sf -o "$WORK/nginx.got" "$NGINX_URL" || die "nginx did not serve the file"
				cmp -s "$BODY" "$WORK/nginx.got" || die "nginx served other bytes"
				wrk -t"$WRK_THREADS" -c64 -d2s "$NGINX_URL" >/dev/null 2>&1 ||
					die "wrk warm-up failed"
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

stop_nginx() {
	stop_pid "$NGINX_PID"
	NGINX_PID=
}

# ------------------------------------------------------------ linksyncd ---

# start_lks_on NAME STORE_URL [FLAGS...]: a linksyncd on that store; sets
# LKS_PID and LKS_PORT.
start_lks_on() {
	local name=$1 store=$2 log=$WORK/lks/$1.log
	shift 2
	"${PIN[@]}" "$LKS_BIN" --quiet --listen 127.0.0.1:0 --store "$store" \
		--public-url "$PUBLIC_URL" --max-connections 20000 --timeout 300 "$@" \
		2>"$log" &
	LKS_PID=$!
	LKS_PORT=
	for _ in $(seq 300); do
		kill -0 "$LKS_PID" 2>/dev/null || die "linksyncd ($name) exited: $(tail -n 5 "$log")"
		LKS_PORT=$(sed -n 's|.*listening on http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$log" | head -n 1)
		[[ -n $LKS_PORT ]] && return 0
		sleep 0.1
	done
	die "linksyncd ($name) did not report its port: $(tail -n 5 "$log")"
}

# start_lks NAME [FLAGS...]: a fresh linksyncd on a fresh SQLite store.
start_lks() {
	local name=$1
	shift
	rm -f "$WORK/lks/$name.db"*
	start_lks_on "$name" "sqlite:$WORK/lks/$name.db" "$@"
}

stop_lks() {
	stop_pid "$LKS_PID"
	LKS_PID=
}

# push_item PORT: POSTs the 1 KiB body; prints the new item's id.
push_item() {
	local port=$1 out=$WORK/lks/push.json code id
	code=$(curl -s -o "$out" -w '%{http_code}' -X POST --data-binary "@$BODY" \
		-H 'Content-Type: application/octet-stream' \
		"http://127.0.0.1:$port/api/v1/items")
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

# check_bytes URL: the URL must serve exactly the benchmark's body.
check_bytes() {
	curl -sf -o "$WORK/lks.got" "$1" || die "linksyncd did not serve $1"
	cmp -s "$BODY" "$WORK/lks.got" || die "linksyncd served other bytes at $1"
}

# The main server (SQLite, default settings) of the get and qr sections, and
# a second one with the read cache off; each with one item.
ensure_main() {
	[[ -z $MAIN_PID ]] || return 0
	start_lks main
	MAIN_PID=$LKS_PID MAIN_PORT=$LKS_PORT LKS_PID=
	MAIN_ID=$(push_item "$MAIN_PORT")
	MAIN_BASE=http://127.0.0.1:$MAIN_PORT
	check_bytes "$MAIN_BASE/$MAIN_ID/raw"
	wrk -t"$WRK_THREADS" -c64 -d2s "$MAIN_BASE/$MAIN_ID/raw" >/dev/null 2>&1 || die "wrk warm-up failed"
}

stop_main() {
	if [[ -n $MAIN_PID ]]; then
		HWM_MAIN=$(rss_kib "$MAIN_PID" VmHWM)
	fi
	stop_pid "$MAIN_PID"
	MAIN_PID=
	stop_pid "$NOCACHE_PID"
	NOCACHE_PID=
}

# ----------------------------------------------------------- PostgreSQL ---

# pg_ensure: starts the throwaway cluster once; returns 1 (and says why) when
# PostgreSQL is not installed.
PG_STATE=unknown
pg_ensure() {
	local rc=0
	case $PG_STATE in
	up) return 0 ;;
	missing) return 1 ;;
	esac
	command -v psql >/dev/null || {
		PG_STATE=missing PG_WHY="psql not found (apt-get install postgresql)"
		return 1
	}
	PG_DIR=$WORK/pg
	"$ROOT/scripts/pg.sh" start "$PG_DIR" >/dev/null 2>"$WORK/pg-start.log" || rc=$?
	if ((rc == 3)); then
		PG_DIR='' PG_STATE=missing PG_WHY=$(tail -n 1 "$WORK/pg-start.log")
		return 1
	fi
	((rc == 0)) || die "scripts/pg.sh start failed: $(tail -n 5 "$WORK/pg-start.log")"
	PG_PID=$(head -n 1 "$PG_DIR/data/postmaster.pid")
	PG_VERSION=$(pg_sql linksync "SHOW server_version")
	PG_STATE=up
}

# pg_sql DB SQL: runs SQL in database DB, prints the rows unaligned.
pg_sql() {
	PGOPTIONS='-c client_min_messages=warning' \
		psql -X -q -A -t -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d "$1" -c "$2"
}

pg_store_url() {
	echo "postgres:///$1?host=$PG_DIR&user=postgres"
}

# ------------------------------------------------------------- measuring ---

CLK_TCK=$(getconf CLK_TCK)
TIMEFORMAT='%U %S'

# cpu_ticks PID: user+system ticks of a process and of its direct children
# (nginx's workers, PostgreSQL's backends), all threads included, and of the
# children it has reaped (cutime, cstime): a PostgreSQL backend that ends
# between two samples moves its CPU time there instead of losing it.
cpu_ticks() {
	local root=$1
	[[ -n $root ]] || { echo 0; return 0; }
	# Field 2 (the command name) is in parentheses and may hold spaces: cut
	# through the last ") ". After it, ppid is f[2], utime f[12], stime f[13],
	# cutime f[14], cstime f[15].
	# cat, not awk, reads the files: a process may end during the scan, and
	# mawk stops at a file it cannot open.
	{ cat /proc/[0-9]*/stat 2>/dev/null || true; } | awk -v root="$root" '
		{
			pid = $1
			line = $0
			sub(/^.*\) /, "", line)
			split(line, f, " ")
			if (pid == root)
				sum += f[12] + f[13] + f[14] + f[15]
			else if (f[2] == root)
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

now_s() {
	date +%s.%N
}

# elapsed T0: seconds since T0 (from now_s), one decimal.
elapsed() {
	awk -v a="$1" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }'
}

# cpu_busy: the seconds since boot, then the busy ticks (all but idle and
# iowait) of each CPU so far in the order of /proc/stat; read at once, so
# that the time and the ticks cover the same interval however long this
# shell waits for a CPU on a loaded machine.
cpu_busy() {
	awk 'FILENAME ~ /uptime/ { printf "%s ", $1; next }
		$1 ~ /^cpu[0-9]/ { printf "%s ", $2 + $3 + $4 + $7 + $8 + $9 }' /proc/uptime /proc/stat
}

# run_wrk KEY URL CONNS SERVER_PID [LUA_SCRIPT]: one bounded wrk run; stores
# RPS[KEY], P50[KEY] and P99[KEY] (ms), ERR[KEY] (non-2xx/3xx answers + socket
# errors), CPU[KEY] (server CPU microseconds per request, PostgreSQL's
# included when DB_PID is set), DBCPU[KEY] (PostgreSQL's part) and WCPU[KEY]
# (wrk's); SRVPCT[KEY] and WRKPCT[KEY], the server's and wrk's CPU time as a
# percentage of the run's wall time. With bench/latency.lua also P90, P999,
# PMAX and PMEAN (ms) and, for a paced run, SLOTS, LATE (requests sent more than
# 1 ms after their slot) and LATEMAX (ms). When wrk is pinned (WRK_PIN) the
# server is on SRV_CPU and wrk on WRK_CPU: REST0[KEY] and REST1[KEY] are the
# busy time of those CPUs that was neither theirs, in % of the wall time.
# (=() makes each one set: an empty array is unbound to `set -u` otherwise.)
declare -A RPS=() P50=() P99=() ERR=() ERRNOTE=() CPU=() DBCPU=() WCPU=() MED_RPS=() MED_P99=()
declare -A MED_COST=() MED_CPU=() MED_DBCPU=()
declare -A SRVPCT=() WRKPCT=() P90=() P999=() PMAX=() PMEAN=() SLOTS=() LATE=() LATEMAX=() REST0=() REST1=()
DB_PID=
SRV_CPU=0
WRK_CPU=1
run_wrk() {
	local key=$1 url=$2 conns=$3 pid=$4 script=${5:-} out=$WORK/wrk/$1.txt
	local t0 t1 d0 d1 reqs non2xx sockerr args=() b0 b1 wall
	[[ -n $script ]] && args=(-s "$HERE/$script")
	t0=$(cpu_ticks "$pid")
	d0=$(cpu_ticks "$DB_PID")
	b0=$(cpu_busy)
	# `time` gives wrk's own CPU time: the load generator's share of the CPUs.
	# wrk leaves answers slower than its timeout out of the latency histogram
	# (it counts them as errors): 10 s keeps slow answers in the p99.
	{ time "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$conns" -d"${DUR}s" --timeout 10s --latency \
		"${args[@]}" "$url" >"$out" 2>&1; } 2>"$out.time" || die "wrk failed: $(tail -n 5 "$out")"
	b1=$(cpu_busy)
	wall=$(awk -v a="$b0" -v b="$b1" 'BEGIN { split(a, x, " "); split(b, y, " "); print y[1] - x[1] }')
	t1=$(cpu_ticks "$pid")
	d1=$(cpu_ticks "$DB_PID")
	kill -0 "$pid" 2>/dev/null || die "the server (pid $pid) exited during $key"
	# A failing script leaves wrk sending plain GETs: that is no result.
	if grep -q '\.lua:' "$out"; then
		die "wrk script error in $key: $(grep -m 1 '\.lua:' "$out")"
	fi
	RPS[$key]=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
	[[ -n ${RPS[$key]} ]] || die "no Requests/sec in wrk output: $(cat "$out")"
	P50[$key]=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$out")")
	P99[$key]=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$out")")
	reqs=$(awk '/ requests in / { print $1 }' "$out")
	non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
	sockerr=$(awk '/Socket errors:/ { gsub(",", ""); print $4 + $6 + $8 + $10 }' "$out")
	ERR[$key]=$((${non2xx:-0} + ${sockerr:-0}))
	if ((ERR[$key] > 0)); then
		ERRNOTE[$key]="$key: ${non2xx:-0} non-2xx/3xx answers; $(awk \
			'/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' "$out")"
		ERRNOTE[$key]="${ERRNOTE[$key]%; } (wrk counts answers slower than 10 s as timeouts)"
	fi
	CPU[$key]=$(awk -v d=$((t1 - t0 + d1 - d0)) -v hz="$CLK_TCK" -v r="$reqs" \
		'BEGIN { printf "%.1f", (r > 0 ? d * 1e6 / hz / r : 0) }')
	DBCPU[$key]=$(awk -v d=$((d1 - d0)) -v hz="$CLK_TCK" -v r="$reqs" \
		'BEGIN { printf "%.1f", (r > 0 ? d * 1e6 / hz / r : 0) }')
	WCPU[$key]=$(awk -v r="$reqs" '{ printf "%.1f", (r > 0 ? ($1 + $2) * 1e6 / r : 0) }' "$out.time")
	SRVPCT[$key]=$(awk -v d=$((t1 - t0 + d1 - d0)) -v hz="$CLK_TCK" -v w="$wall" \
		'BEGIN { printf "%.0f", d * 100 / hz / w }')
	WRKPCT[$key]=$(awk -v w="$wall" 'END { printf "%.0f", ($1 + $2) * 100 / w }' "$out.time")
	if ((${#WRK_PIN[@]} > 0)); then
		# What else ran on the two CPUs: other processes, and interrupt work
		# the kernel charges to no process.
		REST0[$key]=$(awk -v a="$b0" -v b="$b1" -v c="$SRV_CPU" -v s=$((t1 - t0 + d1 - d0)) \
			-v hz="$CLK_TCK" -v w="$wall" 'BEGIN { split(a, x, " "); split(b, y, " ")
				r = (y[c + 2] - x[c + 2] - s) * 100 / hz / w; printf "%.0f", (r < 0 ? 0 : r) }')
		REST1[$key]=$(awk -v a="$b0" -v b="$b1" -v c="$WRK_CPU" -v hz="$CLK_TCK" -v w="$wall" '
			END { split(a, x, " "); split(b, y, " ")
				r = (y[c + 2] - x[c + 2]) * 100 / hz / w - ($1 + $2) * 100 / w
				printf "%.0f", (r < 0 ? 0 : r) }' "$out.time")
	fi
	if grep -q '^lks-latency ' "$out"; then
		read -r P50[$key] P90[$key] P99[$key] P999[$key] PMAX[$key] PMEAN[$key] < <(awk '
			$1 == "lks-latency" { printf "%.2f %.2f %.2f %.2f %.2f %.2f\n",
				$3 / 1000, $5 / 1000, $7 / 1000, $9 / 1000, $11 / 1000, $13 / 1000 }' "$out")
	fi
	if grep -q '^lks-rate ' "$out"; then
		read -r SLOTS[$key] LATE[$key] LATEMAX[$key] < <(awk '$1 == "lks-rate" {
			printf "%d %d %.1f\n", $5, $7, $9 / 1000 }' "$out")
	fi
	say "$(printf '%-26s %8s req/s  p99 %7s ms  cpu %6s us/req  errors %s' "$key" "${RPS[$key]}" \
		"${P99[$key]}" "${CPU[$key]}" "${ERR[$key]}")"
}

rss_kib() {
	awk -v k="$2" '$1 == k ":" { print $2 }' "/proc/$1/status"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

sum() {
	awk -v a="$1" -v b="$2" 'BEGIN { print a + b }'
}

# Target verdicts, collected by the sections, printed at the end.
TARGETS=()
verdict() {
	if awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; then echo "ok  "; else echo "MISS"; fi
}

# summarize_get PREFIX NAMES...: medians over the rounds of the keys
# PREFIX-NAME-cC-rR, into MED_*[PREFIX-NAME-C].
summarize_get() {
	local prefix=$1 c s r k rs ps cs ds ws
	shift
	for c in "${CONNS_LIST[@]}"; do
		for s in "$@"; do
			rs=() ps=() cs=() ds=() ws=()
			for r in $(seq "$ROUNDS"); do
				k=$prefix-$s-c$c-r$r
				[[ -n ${RPS[$k]:-} ]] || continue
				rs+=("${RPS[$k]}") ps+=("${P99[$k]}") cs+=("${CPU[$k]}") ds+=("${DBCPU[$k]}")
				ws+=("${WCPU[$k]}")
			done
			((${#rs[@]} > 0)) || continue
			k=$prefix-$s-$c
			MED_RPS[$k]=$(median "${rs[@]}")
			MED_P99[$k]=$(median "${ps[@]}")
			MED_CPU[$k]=$(median "${cs[@]}")
			MED_DBCPU[$k]=$(median "${ds[@]}")
			MED_COST[$k]=$(sum "${MED_CPU[$k]}" "$(median "${ws[@]}")")
		done
	done
}

# get_table PREFIX NAME:LABEL...: the GET table of a section; the first name
# is nginx, the others are compared with it.
get_table() {
	local prefix=$1 c s label k n errs r rel cost line
	shift
	printf '%-6s %-28s %9s %8s %11s %10s %7s %9s %10s\n' conns server 'req/s' 'p99 ms' \
		'cpu us/req' 'wrk us/req' errors 'vs nginx' 'cost ratio'
	for c in "${CONNS_LIST[@]}"; do
		for s in "$@"; do
			n=${s%%:*} label=${s#*:}
			k=$prefix-$n-$c
			[[ -n ${MED_RPS[$k]:-} ]] || continue
			errs=0
			for r in $(seq "$ROUNDS"); do
				errs=$((errs + ${ERR[$prefix-$n-c$c-r$r]:-0}))
			done
			rel='' cost=''
			if [[ $n != nginx ]]; then
				rel="$(ratio "${MED_RPS[$k]}" "${MED_RPS[$prefix-nginx-$c]}")x"
				cost="$(ratio "${MED_COST[$prefix-nginx-$c]}" "${MED_COST[$k]}")x"
			fi
			printf '%-6s %-28s %9.0f %8s %11s %10s %7s %9s %10s\n' "$c" "$label" "${MED_RPS[$k]}" \
				"${MED_P99[$k]}" "${MED_CPU[$k]}" \
				"$(awk -v a="${MED_COST[$k]}" -v b="${MED_CPU[$k]}" 'BEGIN { printf "%.1f", a - b }')" \
				"$errs" "$rel" "$cost"
		done
	done
	echo "cost ratio: (nginx + wrk CPU per request) / (linksyncd + wrk CPU per request), the req/s"
	echo "ratio to expect when the CPUs are the limit and nothing else runs: steadier on a busy machine"
	echo "rounds (req/s):"
	for c in "${CONNS_LIST[@]}"; do
		for s in "$@"; do
			n=${s%%:*}
			line=
			for r in $(seq "$ROUNDS"); do
				line="$line ${RPS[$prefix-$n-c$c-r$r]:-}"
			done
			[[ -n ${line// /} ]] && printf '  c%-4s %-12s%s\n' "$c" "$n" "$line"
		done
	done
	return 0
}

# post_row KEY LABEL GETKEY: one POST line, compared with the GET medians of
# GETKEY (PREFIX-NAME-64).
post_row() {
	local k=$1 label=$2 g=$3
	printf '%-28s %8s %8s %11s %8s %10s %7s %10sx %11sx\n' "$label" "${RPS[$k]}" "${P99[$k]}" \
		"${CPU[$k]}" "${DBCPU[$k]}" "${WCPU[$k]}" "${ERR[$k]}" \
		"$(ratio "${RPS[$k]}" "${MED_RPS[$g]:-0}")" \
		"$(ratio "${MED_COST[$g]:-0}" "$(sum "${CPU[$k]}" "${WCPU[$k]}")")"
}

post_header() {
	printf '%-28s %8s %8s %11s %8s %10s %7s %11s %12s\n' run 'req/s' 'p99 ms' 'cpu us/req' \
		'of it pg' 'wrk us/req' errors 'vs its GET' 'cost vs GET'
}

# ------------------------------------------------------------- sections ---

GC_FLAG=0
has_flag --group-commit && GC_FLAG=1

section_get() {
	local c r
	say "== get: GET /{id}/raw, SQLite, against nginx"
	start_nginx
	ensure_main
	# The same with the read cache off: what SQLite itself costs.
	if has_flag --cache; then
		start_lks nocache --cache 0
		NOCACHE_PID=$LKS_PID NOCACHE_PORT=$LKS_PORT LKS_PID=
		NOCACHE_ID=$(push_item "$NOCACHE_PORT")
		check_bytes "http://127.0.0.1:$NOCACHE_PORT/$NOCACHE_ID/raw"
		wrk -t"$WRK_THREADS" -c64 -d2s "http://127.0.0.1:$NOCACHE_PORT/$NOCACHE_ID/raw" \
			>/dev/null 2>&1 || die "wrk warm-up failed"
	fi
	# Alternating rounds, so drift in the machine's state hits all alike.
	for c in "${CONNS_LIST[@]}"; do
		for r in $(seq "$ROUNDS"); do
			run_wrk "get-nginx-c$c-r$r" "$NGINX_URL" "$c" "$NGINX_PID"
			run_wrk "get-lks-c$c-r$r" "$MAIN_BASE/$MAIN_ID/raw" "$c" "$MAIN_PID"
			if ((c == 64)) && [[ -n $NOCACHE_PID ]]; then
				run_wrk "get-nocache-c$c-r$r" "http://127.0.0.1:$NOCACHE_PORT/$NOCACHE_ID/raw" \
					"$c" "$NOCACHE_PID"
			fi
		done
	done
	stop_pid "$NOCACHE_PID"
	NOCACHE_PID=
	summarize_get get nginx lks nocache
	{
		echo "GET 1 KiB on SQLite, median of $ROUNDS rounds (nginx: static file; linksyncd: GET /{id}/raw)"
		get_table get nginx:nginx lks:linksyncd nocache:"linksyncd --cache 0"
		echo
	} >"$WORK/report/1-get.txt"
	for c in "${CONNS_LIST[@]}"; do
		r=$(ratio "${MED_RPS[get-lks-$c]}" "${MED_RPS[get-nginx-$c]}")
		TARGETS+=("$(verdict "$r" 1.0) GET SQLite c$c >= 1.0x nginx (aim 1.6x): ${r}x req/s, $(ratio \
			"${MED_COST[get-nginx-$c]}" "${MED_COST[get-lks-$c]}")x by CPU cost")
	done
	TARGETS+=("$(verdict 5 "${MED_P99[get-lks-256]}") GET SQLite p99 at c256 < 5 ms: ${MED_P99[get-lks-256]} ms (nginx's: ${MED_P99[get-nginx-256]} ms)")
}

section_qr() {
	local k name
	say "== qr: QR images and the item page"
	ensure_main
	check_get "$MAIN_BASE/$MAIN_ID/qr.svg" 200 image/svg+xml
	check_get "$MAIN_BASE/$MAIN_ID/qr.png" 200 image/png
	check_get "$MAIN_BASE/$MAIN_ID" 200 text/html "Accept: text/html"
	run_wrk qr-svg "$MAIN_BASE/$MAIN_ID/qr.svg" 64 "$MAIN_PID"
	run_wrk qr-png "$MAIN_BASE/$MAIN_ID/qr.png" 64 "$MAIN_PID"
	run_wrk page "$MAIN_BASE/$MAIN_ID" 64 "$MAIN_PID" html.lua
	{
		echo "QR images and item page, SQLite, -c64"
		printf '%-22s %9s %8s %11s %10s %7s %11s\n' endpoint 'req/s' 'p99 ms' 'cpu us/req' \
			'wrk us/req' errors 'vs raw GET'
		for k in qr-svg qr-png page; do
			case $k in
			qr-svg) name="GET /{id}/qr.svg" ;;
			qr-png) name="GET /{id}/qr.png" ;;
			page) name="GET /{id} (text/html)" ;;
			esac
			printf '%-22s %9s %8s %11s %10s %7s %11s\n' "$name" "${RPS[$k]}" "${P99[$k]}" \
				"${CPU[$k]}" "${WCPU[$k]}" "${ERR[$k]}" \
				"$([[ -n ${MED_RPS[get-lks-64]:-} ]] && echo "$(ratio "${RPS[$k]}" "${MED_RPS[get-lks-64]}")x" || echo -)"
		done
		echo
	} >"$WORK/report/2-qr.txt"
}

# post_run KEY STORE_URL [FLAGS...]: a fresh linksyncd, one POST run, stopped.
post_run() {
	local key=$1 store=$2
	shift 2
	start_lks_on "$key" "$store" "$@"
	push_item "$LKS_PORT" >/dev/null
	run_wrk "$key" "http://127.0.0.1:$LKS_PORT/api/v1/items" 64 "$LKS_PID" post.lua
	stop_lks
}

section_post() {
	local sf=0 k g
	say "== post: POST /api/v1/items, SQLite"
	stop_main
	has_flag --sync-full && sf=1
	for k in post post-sf; do
		[[ $k == post-sf ]] && ((!sf)) && continue
		local flags=()
		[[ $k == post-sf ]] && flags=(--sync-full)
		rm -f "$WORK/lks/$k.db"*
		post_run "$k" "sqlite:$WORK/lks/$k.db" "${flags[@]}"
		if ((GC_FLAG)); then
			rm -f "$WORK/lks/$k-nogc.db"*
			post_run "$k-nogc" "sqlite:$WORK/lks/$k-nogc.db" "${flags[@]}" --group-commit off
		fi
	done
	g=get-lks-64
	{
		echo "POST /api/v1/items on SQLite, 1 KiB application/octet-stream, -c64, a fresh store each"
		post_header
		post_row post "default" "$g"
		((GC_FLAG)) && post_row post-nogc "--group-commit off" "$g"
		if ((sf)); then
			post_row post-sf "--sync-full" "$g"
			((GC_FLAG)) && post_row post-sf-nogc "--sync-full --group-commit off" "$g"
		else
			echo "(--sync-full: not offered by this linksyncd)"
		fi
		if ((GC_FLAG)); then
			echo "group commit gain (req/s with / without): default $(ratio "${RPS[post]}" "${RPS[post-nogc]}")x$(
				((sf)) && echo ", --sync-full $(ratio "${RPS[post-sf]}" "${RPS[post-sf-nogc]}")x")"
		else
			echo "(group commit: this linksyncd has no --group-commit flag; measured as it is)"
		fi
		[[ -n ${MED_RPS[$g]:-} ]] ||
			echo "(vs its GET: run the get section too for the GET medians)"
		echo "vs its GET: req/s / linksyncd's median GET req/s (SQLite, -c64); cost vs GET:"
		echo "its GET cost (server+wrk CPU per request) / this run's"
		echo
	} >"$WORK/report/3-post.txt"
	if [[ -n ${MED_RPS[$g]:-} ]]; then
		k=$(ratio "${RPS[post]}" "${MED_RPS[$g]}")
		TARGETS+=("$(verdict "$k" 0.25) POST SQLite >= 0.25x its GET: ${k}x req/s, $(ratio \
			"${MED_COST[$g]}" "$(sum "${CPU[post]}" "${WCPU[post]}")")x by CPU cost")
		if ((sf)); then
			k=$(ratio "${RPS[post-sf]}" "${MED_RPS[$g]}")
			TARGETS+=("$(verdict "$k" 0.25) POST SQLite --sync-full >= 0.25x its GET: ${k}x req/s, $(ratio \
				"${MED_COST[$g]}" "$(sum "${CPU[post-sf]}" "${WCPU[post-sf]}")")x by CPU cost")
		fi
	fi
}

section_pg() {
	local c r k url base id main_pid main_port nocache_base=
	say "== pg: GET and POST on PostgreSQL"
	stop_main
	if ! pg_ensure; then
		say "PostgreSQL skipped: $PG_WHY"
		echo "PostgreSQL: skipped ($PG_WHY)" >"$WORK/report/4-pg.txt"
		echo >>"$WORK/report/4-pg.txt"
		return 0
	fi
	start_nginx
	url=$(pg_store_url linksync)
	start_lks_on pg-get "$url"
	base=http://127.0.0.1:$LKS_PORT
	id=$(push_item "$LKS_PORT")
	check_bytes "$base/$id/raw"
	wrk -t"$WRK_THREADS" -c64 -d2s "$base/$id/raw" >/dev/null 2>&1 || die "wrk warm-up failed"
	# A second server on the same database with the read cache off: what a
	# GET costs when it goes to PostgreSQL every time.
	if has_flag --cache; then
		main_pid=$LKS_PID main_port=$LKS_PORT
		start_lks_on pg-nocache "$url" --cache 0
		# (Assigned left to right: NOCACHE_PORT gets the new server's port.)
		NOCACHE_PID=$LKS_PID NOCACHE_PORT=$LKS_PORT LKS_PID=$main_pid LKS_PORT=$main_port
		nocache_base=http://127.0.0.1:$NOCACHE_PORT
		check_bytes "$nocache_base/$id/raw"
		wrk -t"$WRK_THREADS" -c64 -d2s "$nocache_base/$id/raw" >/dev/null 2>&1 || die "wrk warm-up failed"
	fi
	for c in "${CONNS_LIST[@]}"; do
		for r in $(seq "$ROUNDS"); do
			run_wrk "pg-nginx-c$c-r$r" "$NGINX_URL" "$c" "$NGINX_PID"
			DB_PID=$PG_PID
			run_wrk "pg-lks-c$c-r$r" "$base/$id/raw" "$c" "$LKS_PID"
			if [[ -n $nocache_base ]]; then
				run_wrk "pg-nocache-c$c-r$r" "$nocache_base/$id/raw" "$c" "$NOCACHE_PID"
			fi
			DB_PID=
		done
	done
	stop_pid "$NOCACHE_PID"
	NOCACHE_PID=
	stop_lks
	stop_nginx
	summarize_get pg nginx lks nocache
	DB_PID=$PG_PID
	pg_sql linksync "TRUNCATE items"
	post_run pg-post "$url"
	if ((GC_FLAG)); then
		pg_sql linksync "TRUNCATE items"
		post_run pg-post-nogc "$url" --group-commit off
	fi
	DB_PID=
	{
		echo "PostgreSQL $PG_VERSION (scripts/pg.sh: Unix socket, default settings, synchronous_commit on;"
		echo "linksyncd's default pool of 4 connections); cpu us/req includes PostgreSQL's processes"
		echo "GET 1 KiB, median of $ROUNDS rounds, next to nginx again"
		get_table pg nginx:nginx lks:"linksyncd postgres" nocache:"linksyncd postgres --cache 0"
		printf "PostgreSQL's part of linksyncd's cpu us/req:"
		for c in "${CONNS_LIST[@]}"; do
			printf '  c%s %s' "$c" "${MED_DBCPU[pg-lks-$c]}"
			[[ -n ${MED_DBCPU[pg-nocache-$c]:-} ]] && printf ' (--cache 0: %s)' "${MED_DBCPU[pg-nocache-$c]}"
		done
		echo
		echo
		echo "POST /api/v1/items on PostgreSQL, 1 KiB, -c64 (table truncated before each run)"
		post_header
		post_row pg-post "default" pg-lks-64
		if ((GC_FLAG)); then
			post_row pg-post-nogc "--group-commit off" pg-lks-64
			echo "group commit gain (req/s with / without): $(ratio "${RPS[pg-post]}" "${RPS[pg-post-nogc]}")x"
		else
			echo "(group commit: this linksyncd has no --group-commit flag; measured as it is)"
		fi
		echo "vs its GET: against linksyncd's median GET on PostgreSQL at -c64"
		echo
	} >"$WORK/report/4-pg.txt"
	for c in "${CONNS_LIST[@]}"; do
		r=$(ratio "${MED_RPS[pg-lks-$c]}" "${MED_RPS[pg-nginx-$c]}")
		TARGETS+=("$(verdict "$r" 1.0) GET PostgreSQL c$c >= 1.0x nginx (aim 1.6x): ${r}x req/s, $(ratio \
			"${MED_COST[pg-nginx-$c]}" "${MED_COST[pg-lks-$c]}")x by CPU cost")
	done
	TARGETS+=("$(verdict 5 "${MED_P99[pg-lks-256]}") GET PostgreSQL p99 at c256 < 5 ms: ${MED_P99[pg-lks-256]} ms (nginx's: ${MED_P99[pg-nginx-256]} ms)")
	k=$(ratio "${RPS[pg-post]}" "${MED_RPS[pg-lks-64]}")
	TARGETS+=("$(verdict "$k" 0.25) POST PostgreSQL >= 0.25x its GET: ${k}x req/s, $(ratio \
		"${MED_COST[pg-lks-64]}" "$(sum "${CPU[pg-post]}" "${WCPU[pg-post]}")")x by CPU cost")
}

# pin_tree PID CPUS: sets the CPU affinity of a process (all its threads) and
# of its direct children (PostgreSQL's backends); what it forks later
# inherits it.
pin_tree() {
	local root=$1 cpus=$2 p
	taskset -a -p -c "$cpus" "$root" >/dev/null || die "could not pin pid $root to CPUs $cpus"
	for p in $(ps -o pid= --ppid "$root" || true); do
		# A backend may end meanwhile.
		taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1 || true
	done
}

# lat_med NAME PREFIX: the median over the latency rounds of NAME[PREFIX-rR].
lat_med() {
	local -n arr=$1
	local vals=() r
	for r in $(seq "$LAT_ROUNDS"); do
		[[ -n ${arr[$2-r$r]:-} ]] && vals+=("${arr[$2-r$r]}")
	done
	if ((${#vals[@]} > 0)); then median "${vals[@]}"; else echo 0; fi
}

# lat_sum NAME PREFIX: the sum over the latency rounds of NAME[PREFIX-rR].
lat_sum() {
	local -n arr=$1
	local n=0 r
	for r in $(seq "$LAT_ROUNDS"); do
		n=$((n + ${arr[$2-r$r]:-0}))
	done
	echo "$n"
}

# lat_stall_check KEY CLOSED: flags (ERRNOTE) a run in which the server held
# requests without answering them. By Little's law the requests in flight
# on average are req/s x mean latency. In a closed loop (CLOSED=1) every
# connection always has one: when that count is far below the connections,
# the others waited for answers that did not come within the run (wrk
# records no latency for them). In a paced run, a server that served less
# than half the offered rate with few requests in flight: the free
# connections would have sent the rest, so they were not free. Not a
# matter of load: a server starved of CPU answers late, and those
# latencies count.
lat_stall_check() {
	local k=$1 closed=$2 inflight limit=$((LAT_CONNS / 2))
	inflight=$(awk -v r="${RPS[$k]}" -v m="${PMEAN[$k]:-0}" 'BEGIN { printf "%.0f", r * m / 1000 }')
	if ((closed == 0)); then
		awk -v a="${RPS[$k]}" -v t="$LKS_WRK_RATE" 'BEGIN { exit !(a < 0.5 * t) }' || return 0
		limit=$((LAT_CONNS / 4))
	fi
	if ((inflight < limit)); then
		if ((closed)); then
			ERRNOTE[$k]="$k: $LAT_CONNS connections waiting, but only $inflight requests in flight on average (req/s x mean latency): the server stalled"
		else
			ERRNOTE[$k]="$k: ${RPS[$k]} of $LKS_WRK_RATE req/s served with only $inflight requests in flight on average (req/s x mean latency): the server stalled"
		fi
		say "${ERRNOTE[$k]}"
	fi
}

# The latency section: every server on SRV_CPU (nginx with one worker,
# linksyncd with one MHD thread, PostgreSQL's processes too), wrk -t1 on
# WRK_CPU, so that the load generator no longer competes with the server
# for a CPU. (a) closed loop at 256 connections: saturation; (b) the same 256
# connections paced by bench/latency.lua to a fixed total rate, the same for
# every server: the latency at a load the server carries.
LAT_CONNS=256
section_latency() {
	local servers=(nginx sqlite) s r k id base rate own_cpus m late_pct
	local -A url=() pid=() db=() label=()
	say "== latency: GET /{id}/raw, c$LAT_CONNS, servers on CPU $SRV_CPU, wrk -t1 on CPU $WRK_CPU"
	stop_main
	stop_nginx
	if ! taskset -c "$SRV_CPU" true 2>/dev/null || ! taskset -c "$WRK_CPU" true 2>/dev/null; then
		say "latency skipped: CPUs $SRV_CPU and $WRK_CPU are not both available to this shell"
		printf 'Latency: skipped (needs CPUs %s and %s)\n\n' "$SRV_CPU" "$WRK_CPU" >"$WORK/report/5-latency.txt"
		return 0
	fi
	own_cpus=$(taskset -c -p $$ | sed 's/.*: *//')
	PIN=(taskset -c "$SRV_CPU")
	NGINX_WORKERS=1
	start_nginx
	url[nginx]=$NGINX_URL pid[nginx]=$NGINX_PID db[nginx]= label[nginx]="nginx (1 worker)"
	start_lks lat-sqlite --threads "$LAT_THREADS"
	LAT_PIDS+=("$LKS_PID")
	pid[sqlite]=$LKS_PID db[sqlite]= label[sqlite]="linksyncd SQLite"
	LKS_PID=
	base=http://127.0.0.1:$LKS_PORT
	id=$(push_item "$LKS_PORT")
	url[sqlite]=$base/$id/raw
	check_bytes "${url[sqlite]}"
	if pg_ensure; then
		# Before linksyncd connects: its backends are forked by the
		# postmaster and inherit its CPU.
		pin_tree "$PG_PID" "$SRV_CPU"
		# One item in the store, as in the pg section's GET (its POST runs
		# left thousands); no table yet when this section runs alone.
		if [[ $(pg_sql linksync "SELECT to_regclass('items') IS NOT NULL") == t ]]; then
			pg_sql linksync "TRUNCATE items" >/dev/null
		fi
		start_lks_on lat-pg "$(pg_store_url linksync)" --threads "$LAT_THREADS"
		LAT_PIDS+=("$LKS_PID")
		pid[pg]=$LKS_PID db[pg]=$PG_PID label[pg]="linksyncd PostgreSQL"
		LKS_PID=
		base=http://127.0.0.1:$LKS_PORT
		id=$(push_item "$LKS_PORT")
		url[pg]=$base/$id/raw
		check_bytes "${url[pg]}"
		servers+=(pg)
	else
		say "PostgreSQL skipped in the latency section: $PG_WHY"
	fi
	PIN=()
	WRK_PIN=(taskset -c "$WRK_CPU")
	WRK_THREADS=1
	for s in "${servers[@]}"; do
		"${WRK_PIN[@]}" wrk -t1 -c"$LAT_CONNS" -d2s "${url[$s]}" >/dev/null 2>&1 ||
			die "wrk warm-up failed ($s)"
	done
	# (a) Closed loop, alternating rounds.
	for r in $(seq "$LAT_ROUNDS"); do
		for s in "${servers[@]}"; do
			k=lat-$s-r$r
			DB_PID=${db[$s]}
			run_wrk "$k" "${url[$s]}" "$LAT_CONNS" "${pid[$s]}" latency.lua
			DB_PID=
			lat_stall_check "$k" 1
		done
	done
	# (b) Paced: the same offered rate for every server.
	rate=$LAT_RATE
	if [[ -z $rate ]]; then
		rate=$(awk -v n="$(lat_med RPS lat-nginx)" 'BEGIN { printf "%d", int(n / 2 / 100 + 0.5) * 100 }')
		((rate > 0)) || die "nginx's closed-loop rate is 0: no rate to offer"
	fi
	export LKS_WRK_RATE=$rate LKS_WRK_THREADS=1
	for r in $(seq "$LAT_ROUNDS"); do
		for s in "${servers[@]}"; do
			DB_PID=${db[$s]}
			run_wrk "rate-$s-r$r" "${url[$s]}" "$LAT_CONNS" "${pid[$s]}" latency.lua
			DB_PID=
			lat_stall_check "rate-$s-r$r" 0
		done
	done
	unset LKS_WRK_RATE LKS_WRK_THREADS
	WRK_PIN=()
	WRK_THREADS=2
	for k in "${LAT_PIDS[@]}"; do
		stop_pid "$k"
	done
	LAT_PIDS=()
	stop_nginx
	NGINX_WORKERS=auto
	[[ -n ${db[pg]:-} ]] && pin_tree "$PG_PID" "$own_cpus"
	{
		echo "Latency: GET /{id}/raw of 1 KiB, keep-alive, $LAT_CONNS connections; every server on CPU $SRV_CPU (nginx"
		echo "worker_processes 1, linksyncd --threads $LAT_THREADS, PostgreSQL's processes too), wrk -t1 on CPU $WRK_CPU;"
		echo "median of $LAT_ROUNDS rounds of ${DUR} s, alternating; wrk's percentiles (bench/latency.lua adds p99.9)"
		echo "(a) closed loop: each connection sends its next request when the answer is in (saturation)"
		printf '%-22s %8s %7s %7s %8s %11s %8s %8s %7s %6s %8s\n' server 'req/s' 'p50 ms' 'p99 ms' \
			'p99.9 ms' 'cpu us/req' 'srv cpu%' 'wrk cpu%' 'others%' errors 'vs nginx'
		for s in "${servers[@]}"; do
			k=lat-$s
			m=0
			for r in $(seq "$LAT_ROUNDS"); do
				[[ -n ${ERRNOTE[$k-r$r]:-} ]] && m=$((m + 1))
			done
			printf '%-22s %8.0f %7.2f %7.2f %8.2f %11.1f %8.0f %8.0f %7s %6s %8s%s\n' "${label[$s]}" \
				"$(lat_med RPS "$k")" "$(lat_med P50 "$k")" "$(lat_med P99 "$k")" "$(lat_med P999 "$k")" \
				"$(lat_med CPU "$k")" "$(lat_med SRVPCT "$k")" "$(lat_med WRKPCT "$k")" \
				"$(lat_med REST0 "$k" | xargs printf '%.0f')/$(lat_med REST1 "$k" | xargs printf '%.0f')" \
				"$(lat_sum ERR "$k")" "$([[ $s == nginx ]] || echo "$(ratio "$(lat_med RPS "$k")" "$(lat_med RPS lat-nginx)")x")" \
				"$( ((m == 0)) || echo "  STALLED in $m of $LAT_ROUNDS rounds")"
		done
		echo "(b) fixed rate: the $LAT_CONNS connections together offer $rate req/s$([[ -z $LAT_RATE ]] &&
			echo " (half of nginx's closed-loop rate)"), paced by wrk's delay()"
		printf '%-22s %8s %10s %7s %7s %8s %8s %9s %11s %8s %7s %6s\n' server 'target/s' 'achieved/s' \
			'p50 ms' 'p99 ms' 'p99.9 ms' 'max ms' 'late sends' 'max late ms' 'srv cpu%' 'others%' errors
		for s in "${servers[@]}"; do
			k=rate-$s
			late_pct=$(awk -v l="$(lat_sum LATE "$k")" -v n="$(lat_sum SLOTS "$k")" \
				'BEGIN { printf "%.2f%%", (n > 0 ? l * 100 / n : 0) }')
			m=0
			for r in $(seq "$LAT_ROUNDS"); do
				m=$(awk -v a="$m" -v b="${LATEMAX[$k-r$r]:-0}" 'BEGIN { print (b > a ? b : a) }')
			done
			local stalled=0
			for r in $(seq "$LAT_ROUNDS"); do
				[[ -n ${ERRNOTE[$k-r$r]:-} ]] && stalled=$((stalled + 1))
			done
			printf '%-22s %8s %10.0f %7.2f %7.2f %8.2f %8.2f %10s %11.1f %8.0f %7s %6s%s\n' "${label[$s]}" \
				"$rate" "$(lat_med RPS "$k")" "$(lat_med P50 "$k")" "$(lat_med P99 "$k")" \
				"$(lat_med P999 "$k")" "$(lat_med PMAX "$k")" "$late_pct" "$m" "$(lat_med SRVPCT "$k")" \
				"$(lat_med REST0 "$k" | xargs printf '%.0f')/$(lat_med REST1 "$k" | xargs printf '%.0f')" \
				"$(lat_sum ERR "$k")" "$( ((stalled == 0)) || echo "  STALLED in $stalled of $LAT_ROUNDS rounds")"
		done
		echo "late sends: requests that left more than 1 ms after their slot because all $LAT_CONNS connections"
		echo "were waiting for answers; that wait is not in the latencies (coordinated omission), so with late"
		echo "sends the percentiles are too low and the server did not carry the rate"
		echo "srv cpu%: the server's CPU time (PostgreSQL's included) per wall time, of the one CPU it has;"
		echo "others%: busy time of CPU $SRV_CPU / CPU $WRK_CPU that was neither the server's nor wrk's (other processes,"
		echo "interrupts): what the shared machine took from the run"
		echo "rounds (req/s, p99 ms):"
		for m in lat rate; do
			for s in "${servers[@]}"; do
				printf '  %-7s %-8s' "$([[ $m == lat ]] && echo closed || echo paced)" "$s"
				for r in $(seq "$LAT_ROUNDS"); do
					printf '  %6s %6s' "${RPS[$m-$s-r$r]:-}" "${P99[$m-$s-r$r]:-}"
				done
				echo
			done
		done
		echo
	} >"$WORK/report/5-latency.txt"
	# A verdict from runs in which other processes held the CPUs says so.
	local noisy=''
	m=$(for s in "${servers[@]}"; do for r in $(seq "$LAT_ROUNDS"); do
		echo "${REST0[lat-$s-r$r]:-0}" "${REST1[lat-$s-r$r]:-0}" "${REST0[rate-$s-r$r]:-0}"; done; done |
		awk '{ for (i = 1; i <= NF; i++) if ($i > m) m = $i } END { print m + 0 }')
	((m > 20)) && noisy=" (noisy: other processes took up to $m% of a CPU during these runs)"
	for s in "${servers[@]}"; do
		[[ $s == nginx ]] && continue
		k=$(ratio "$(lat_med RPS "lat-$s")" "$(lat_med RPS lat-nginx)")
		TARGETS+=("$(verdict "$k" 1.0) GET ${label[$s]#linksyncd } c$LAT_CONNS, server and wrk pinned to a CPU each, >= 1.0x nginx (aim 1.6x): ${k}x req/s$noisy")
	done
	for s in "${servers[@]}"; do
		[[ $s == nginx ]] && continue
		k=rate-$s
		m=$(awk -v p="$(lat_med P99 "$k")" -v a="$(lat_med RPS "$k")" -v t="$rate" \
			-v l="$(lat_sum LATE "$k")" -v n="$(lat_sum SLOTS "$k")" \
			'BEGIN { print (p < 5 && a >= 0.95 * t && l <= 0.01 * n) ? "ok  " : "MISS" }')
		TARGETS+=("$m GET ${label[$s]#linksyncd } p99 < 5 ms at c$LAT_CONNS, $rate req/s offered, pinned: $(lat_med P99 "$k" | xargs printf '%.2f') ms (nginx's: $(lat_med P99 rate-nginx | xargs printf '%.2f') ms), $(lat_med RPS "$k" | xargs printf '%.0f') req/s achieved, $(awk -v l="$(lat_sum LATE "$k")" -v n="$(lat_sum SLOTS "$k")" 'BEGIN { printf "%.2f", (n > 0 ? l * 100 / n : 0) }')% sent late$noisy")
	done
}

section_memory() {
	local rss_idle rss_conns open failed alive m
	say "== memory: $IDLE_CONNS idle connections"
	stop_main
	cc -std=c11 -O2 -Wall -Wextra -o "$WORK/idle_conns" "$HERE/idle_conns.c"
	start_lks memory
	push_item "$LKS_PORT" >/dev/null
	sleep 1
	rss_idle=$(rss_kib "$LKS_PID" VmRSS)
	"$WORK/idle_conns" "$LKS_PORT" "$IDLE_CONNS" 8 >"$WORK/idle.out" 2>"$WORK/idle.err" &
	HELPER_PID=$!
	for _ in $(seq 1200); do
		grep -q '^ready' "$WORK/idle.out" 2>/dev/null && break
		kill -0 "$HELPER_PID" 2>/dev/null || break
		sleep 0.1
	done
	grep -q '^ready' "$WORK/idle.out" || die "idle_conns did not get ready: $(cat "$WORK/idle.err")"
	sleep 2
	rss_conns=$(rss_kib "$LKS_PID" VmRSS)
	wait "$HELPER_PID" || true
	HELPER_PID=
	open=$(awk '$1 == "open" { print $2 }' "$WORK/idle.out")
	failed=$(awk '$1 == "open" { print $4 }' "$WORK/idle.out")
	alive=$(awk '$1 == "alive" { print $2 }' "$WORK/idle.out")
	stop_lks
	[[ $open == "$IDLE_CONNS" && $failed == 0 ]] ||
		ERRNOTE[memory]="memory: $failed of $IDLE_CONNS idle connections failed"
	m=$(awk -v k="$rss_conns" 'BEGIN { printf "%.1f", k / 1024 }')
	{
		echo "memory (linksyncd VmRSS, SQLite, default --connection-memory)"
		printf '  idle, fresh server with one item:         %8.1f MiB\n' "$(awk -v k="$rss_idle" 'BEGIN { print k / 1024 }')"
		printf '  with %5d idle keep-alive connections:    %8.1f MiB  (%s opened, %s failed, %s still open after the hold)\n' \
			"$IDLE_CONNS" "$m" "$open" "$failed" "$alive"
		printf '  per connection:                           %8.1f KiB\n' \
			"$(awk -v a="$rss_conns" -v b="$rss_idle" -v n="$open" 'BEGIN { print (n > 0 ? (a - b) / n : 0) }')"
		if [[ -n ${HWM_MAIN:-} ]]; then
			printf '  peak of the get/qr server (VmHWM):        %8.1f MiB\n' "$(awk -v k="$HWM_MAIN" 'BEGIN { print k / 1024 }')"
		fi
		echo
	} >"$WORK/report/6-memory.txt"
	TARGETS+=("$(verdict 64 "$m") RSS at $IDLE_CONNS idle connections < 64 MiB: $m MiB")
}

# ---------------------------------------------------------------- scale ---

# The stores of the scale section are filled directly, not through the API
# (a million POSTs would take minutes): 1 KiB of random content per item, ids
# random and canonical (26 base32 characters, the last one carrying two zero
# bits), expires_at = BASE - n for the n-th item, so that every expiry
# differs (the PostgreSQL sweep takes the oldest first).
SQL_ID_SQLITE="substr(replace(replace(replace(replace(lower(hex(randomblob(13))), '0', '2'), '1', '3'), '8', '4'), '9', '5'), 1, 25) || substr('aeimquy4', 1 + n % 8, 1)"
SQL_ID_PG="left(translate(md5(random()::text || g::text), '0189', '2345'), 25) || substr('aeimquy4', 1 + g % 8, 1)"

# fill_sqlite DB N BASE: fills a store that linksyncd created (and that no
# process has open).
fill_sqlite() {
	local db=$1 n=$2 base=$3 now
	now=$(date +%s)
	# No journal and no syncs while filling: a throwaway store. WAL again
	# afterwards, as linksyncd keeps it.
	sqlite3 "$db" >/dev/null <<EOF || die "filling $db failed"
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
PRAGMA cache_size=-262144;
BEGIN;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $n)
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
	version, reads_left, token_hash, content_hash, proof_hash, envelope_header)
SELECT $SQL_ID_SQLITE, 0, 'application/octet-stream', NULL, NULL, 1024, $now, $now, $base - n,
	1, -1, randomblob(32), randomblob(32), NULL, NULL
FROM g;
INSERT INTO contents (item, data) SELECT rowid, randomblob(1024) FROM items;
COMMIT;
PRAGMA journal_mode=WAL;
EOF
}

# fill_pg DB N BASE: the same into a PostgreSQL database that linksyncd
# created; the content is 64 copies of an md5 (1 KiB rows stay inline and
# uncompressed in PostgreSQL, like random bytes would).
fill_pg() {
	local db=$1 n=$2 base=$3 now
	now=$(date +%s)
	psql -X -q -v ON_ERROR_STOP=1 -h "$PG_DIR" -U postgres -d "$db" >/dev/null <<EOF || die "filling $db failed"
SET synchronous_commit = off;
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
	version, reads_left, token_hash, content_hash, data)
SELECT $SQL_ID_PG, 0, 'application/octet-stream', NULL, NULL, 1024, $now, $now, $base - g,
	1, -1, sha256(int8send(g)), sha256(int8send(-g)), decode(repeat(md5(g::text), 64), 'hex')
FROM generate_series(1, $n) g;
VACUUM ANALYZE items;
EOF
}

# scale_reads KEY STORE DB_PID IDS [FLAGS...]: a linksyncd on the filled
# store, reads of random ids at -c64.
scale_reads() {
	local key=$1 store=$2 dbpid=$3 ids=$4 id
	shift 4
	start_lks_on "$key" "$store" "$@"
	id=$(head -n 1 "$ids")
	check_get "http://127.0.0.1:$LKS_PORT/$id/raw" 200 application/octet-stream
	export LKS_BENCH_IDS=$ids
	wrk -t"$WRK_THREADS" -c64 -d2s -s "$HERE/ids.lua" "http://127.0.0.1:$LKS_PORT/" >/dev/null 2>&1 ||
		die "wrk warm-up failed"
	DB_PID=$dbpid
	run_wrk "$key" "http://127.0.0.1:$LKS_PORT/" 64 "$LKS_PID" ids.lua
	DB_PID=
	stop_lks
}

# scale_idle KEY STORE DB_PID: CPU per second of an idle linksyncd whose
# sweeper runs every second and finds nothing due (PostgreSQL's included).
scale_idle() {
	local key=$1 store=$2 dbpid=$3 a0 a1 b0 b1 t0
	start_lks_on "$key" "$store" --sweep-interval 1s
	sleep 2
	t0=$(now_s)
	a0=$(cpu_ticks "$LKS_PID") b0=$(cpu_ticks "$dbpid")
	sleep 5
	a1=$(cpu_ticks "$LKS_PID") b1=$(cpu_ticks "$dbpid")
	IDLE_MS[$key]=$(awk -v d=$((a1 - a0 + b1 - b0)) -v hz="$CLK_TCK" -v t="$(elapsed "$t0")" \
		'BEGIN { printf "%.1f", d * 1000 / hz / t }')
	stop_lks
}

# scale_sweep KEY STORE DB_PID N PROBE [COMPACT_PROBE]: a linksyncd with a 1 s
# sweep interval on a store whose N items have all expired; PROBE prints 0 once
# no expired item is left. COMPACT_PROBE (SQLite) prints 0 once the free pages
# have been given back. Sets SWEEP_S, SWEEP_US, COMPACT_S.
declare -A IDLE_MS=() SWEEP_S=() SWEEP_US=() COMPACT_S=() FILL_S=() PREP_S=()
scale_sweep() {
	local key=$1 store=$2 dbpid=$3 n=$4 probe=$5 cprobe=${6:-} t0 lks db0 db1 deadline left
	# The backend of the fill has ended (its CPU is the postmaster's now).
	sleep 1
	db0=$(cpu_ticks "$dbpid")
	t0=$(now_s)
	start_lks_on "$key" "$store" --sweep-interval 1s
	deadline=$((SECONDS + SWEEP_TIMEOUT))
	SWEEP_S[$key]=
	while ((SECONDS < deadline)); do
		left=$($probe) || die "sweep probe failed"
		if [[ $left == 0 ]]; then
			SWEEP_S[$key]=$(elapsed "$t0")
			break
		fi
		sleep 0.2
	done
	# The server's CPU since it started, PostgreSQL's since just before.
	lks=$(cpu_ticks "$LKS_PID")
	db1=$(cpu_ticks "$dbpid")
	SWEEP_US[$key]=$(awk -v d=$((lks + db1 - db0)) -v hz="$CLK_TCK" -v n="$n" \
		'BEGIN { printf "%.1f", d * 1e6 / hz / n }')
	if [[ -z ${SWEEP_S[$key]} ]]; then
		SWEEP_S[$key]=">$SWEEP_TIMEOUT"
		ERRNOTE[$key]="$key: the sweep did not finish within $SWEEP_TIMEOUT s"
	fi
	COMPACT_S[$key]=-
	if [[ -n $cprobe && ${SWEEP_S[$key]} != ">"* ]]; then
		deadline=$((SECONDS + COMPACT_WAIT))
		COMPACT_S[$key]=">$(elapsed "$t0") (${COMPACT_WAIT} s wait: $($cprobe) free pages left)"
		while ((SECONDS < deadline)); do
			left=$($cprobe) || die "compaction probe failed"
			if [[ $left == 0 ]]; then
				COMPACT_S[$key]=$(elapsed "$t0")
				break
			fi
			sleep 0.5
		done
		[[ $left == 0 ]] || COMPACT_S[$key]=">$(elapsed "$t0") ($left free pages left)"
	fi
	stop_lks
}

SCALE_DB=
probe_sqlite_rows() {
	sqlite3 -cmd '.timeout 10000' "$SCALE_DB" "SELECT count(*) FROM (SELECT 1 FROM items LIMIT 1)"
}
probe_sqlite_free() {
	sqlite3 -cmd '.timeout 10000' "$SCALE_DB" "PRAGMA freelist_count"
}
# The newest expiry first: the sweeper deletes the oldest first, so this
# finds a row at once until the very end.
probe_pg_rows() {
	pg_sql "$SCALE_DB" "SELECT count(*) FROM (SELECT 1 FROM items WHERE expires_at <= $SWEEP_NOW
		ORDER BY expires_at DESC LIMIT 1) s"
}

scale_sqlite() {
	local n=$1 db store t0 ids
	db=$WORK/scale/sqlite-$n.db ids=$WORK/scale/ids-sqlite-$n.txt
	store=sqlite:$db
	rm -f "$db"*
	# linksyncd creates the schema; then it is filled with no one else on it.
	start_lks_on "sqlite-$n-schema" "$store"
	stop_lks
	say "filling SQLite with $n items"
	t0=$(now_s)
	fill_sqlite "$db" "$n" $(($(date +%s) + 30 * 86400))
	FILL_S[sqlite-$n]=$(elapsed "$t0")
	[[ $(sqlite3 "$db" "SELECT count(*) FROM items") == "$n" ]] || die "the SQLite fill is incomplete"
	sqlite3 "$db" "SELECT id FROM items" | shuf -n "$SCALE_SAMPLE" >"$ids"
	scale_reads "scale-sqlite-$n" "$store" "" "$ids"
	if has_flag --cache; then
		scale_reads "scale-sqlite0-$n" "$store" "" "$ids" --cache 0
	fi
	scale_idle "idle-sqlite-$n" "$store" ""
	# Everything expired, 60 days back, every expiry still distinct.
	t0=$(now_s)
	sqlite3 "$db" "PRAGMA synchronous=OFF; UPDATE items SET expires_at = expires_at - 60 * 86400" ||
		die "expiring the SQLite items failed"
	PREP_S[sqlite-$n]=$(elapsed "$t0")
	SCALE_DB=$db
	say "sweeping $n expired items (SQLite)"
	scale_sweep "sweep-sqlite-$n" "$store" "" "$n" probe_sqlite_rows probe_sqlite_free
	[[ $(sqlite3 "$db" "SELECT count(*) FROM items") == 0 ]] || die "SQLite store not empty after the sweep"
	rm -f "$db"*
}

scale_pg() {
	local n=$1 db store t0 ids
	db=scale_$n ids=$WORK/scale/ids-pg-$n.txt
	pg_sql linksync "DROP DATABASE IF EXISTS $db" >/dev/null
	pg_sql linksync "CREATE DATABASE $db" >/dev/null
	store=$(pg_store_url "$db")
	start_lks_on "pg-$n-schema" "$store"
	stop_lks
	say "filling PostgreSQL with $n items"
	t0=$(now_s)
	fill_pg "$db" "$n" $(($(date +%s) + 30 * 86400))
	FILL_S[pg-$n]=$(elapsed "$t0")
	[[ $(pg_sql "$db" "SELECT count(*) FROM items") == "$n" ]] || die "the PostgreSQL fill is incomplete"
	pg_sql "$db" "SELECT id FROM items" | shuf -n "$SCALE_SAMPLE" >"$ids"
	# Without the read cache: what is measured is the database's lookup
	# (with it, the share of reads that hit its 4096 slots falls as N grows).
	if has_flag --cache; then
		scale_reads "scale-pg-$n" "$store" "$PG_PID" "$ids" --cache 0
	else
		scale_reads "scale-pg-$n" "$store" "$PG_PID" "$ids"
	fi
	scale_idle "idle-pg-$n" "$store" "$PG_PID"
	# An UPDATE of every row would double the table (a new version of each
	# row, then a VACUUM): fill it again, expired, instead.
	t0=$(now_s)
	SWEEP_NOW=$(date +%s)
	pg_sql "$db" "TRUNCATE items" >/dev/null
	fill_pg "$db" "$n" $((SWEEP_NOW - 1))
	PREP_S[pg-$n]=$(elapsed "$t0")
	SCALE_DB=$db
	say "sweeping $n expired items (PostgreSQL)"
	scale_sweep "sweep-pg-$n" "$store" "$PG_PID" "$n" probe_pg_rows
	[[ $(pg_sql "$db" "SELECT count(*) FROM items") == 0 ]] || die "PostgreSQL store not empty after the sweep"
	pg_sql linksync "DROP DATABASE $db" >/dev/null
}

section_scale() {
	local sizes=() n b first last k label
	say "== scale: up to $SCALE_MAX stored items"
	stop_main
	for n in 10000 100000 1000000; do
		((n <= SCALE_MAX)) && sizes+=("$n")
	done
	local backends=(sqlite)
	if pg_ensure; then
		backends+=(pg)
	else
		say "PostgreSQL skipped in the scale section: $PG_WHY"
	fi
	for b in "${backends[@]}"; do
		for n in "${sizes[@]}"; do
			"scale_$b" "$n"
		done
	done
	{
		echo "Scale: stores filled directly with N items of 1 KiB (all cached by the kernel: the machine has"
		echo "$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GiB), GET /{id}/raw of random existing ids (bench/ids.lua: uniform over a"
		echo "sample of up to $SCALE_SAMPLE of them), -c64, ${DUR} s; cpu includes PostgreSQL's processes"
		printf '%-26s %9s %8s %9s %8s %8s %11s %7s %10s\n' store items 'fill s' 'req/s' 'p50 ms' \
			'p99 ms' 'cpu us/req' errors 'p50 vs 1st'
		for label in "sqlite:SQLite (--cache 32M)" "sqlite0:SQLite --cache 0" "pg:PostgreSQL --cache 0"; do
			b=${label%%:*} first=
			for n in "${sizes[@]}"; do
				k=scale-$b-$n
				[[ -n ${RPS[$k]:-} ]] || continue
				[[ -n $first ]] || first=${P50[$k]}
				printf '%-26s %9s %8s %9s %8s %8s %11s %7s %9sx\n' "${label#*:}" "$n" \
					"${FILL_S[${b%0}-$n]}" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${CPU[$k]}" \
					"${ERR[$k]}" "$(ratio "${P50[$k]}" "$first")"
			done
		done
		echo "(the read cache holds at most 4096 items, so with N random ids few reads hit it)"
		echo
		echo "Sweeper: idle = CPU per second of an idle server sweeping every 1 s with nothing due;"
		echo "sweep = from start (--sweep-interval 1s) until no expired item is left; compacted = SQLite"
		echo "has given the free pages back (PRAGMA freelist_count = 0), waited for at most ${COMPACT_WAIT} s more"
		printf '%-12s %9s %12s %9s %8s %13s  %s\n' store items 'idle ms/s' 'prep s' 'sweep s' \
			'cpu us/item' 'compacted s'
		for b in "${backends[@]}"; do
			for n in "${sizes[@]}"; do
				k=sweep-$b-$n
				[[ -n ${SWEEP_S[$k]:-} ]] || continue
				printf '%-12s %9s %12s %9s %8s %13s  %s\n' \
					"$([[ $b == pg ]] && echo PostgreSQL || echo SQLite)" "$n" \
					"${IDLE_MS[idle-$b-$n]}" "${PREP_S[$b-$n]}" "${SWEEP_S[$k]}" "${SWEEP_US[$k]}" \
					"${COMPACT_S[$k]}"
			done
		done
		echo "prep: making every item expired (SQLite: one UPDATE; PostgreSQL: a new fill, already expired)"
		((SCALE_MAX < 1000000)) && echo "(10^6 items: LKS_BENCH_SCALE_MAX=1000000)"
		echo
	} >"$WORK/report/7-scale.txt"
	# Flat reads: of the store itself, so SQLite without the read cache (whose
	# hit rate falls as N grows) when that was measured.
	for b in sqlite0 sqlite pg; do
		((${#sizes[@]} > 1)) || break
		[[ $b == sqlite && -n ${P50[scale-sqlite0-${sizes[0]}]:-} ]] && continue
		first=${P50[scale-$b-${sizes[0]}]:-}
		last=${P50[scale-$b-${sizes[-1]}]:-}
		[[ -n $first && -n $last ]] || continue
		k=$(ratio "$last" "$first")
		case $b in
		sqlite0) label="SQLite --cache 0" ;;
		sqlite) label=SQLite ;;
		pg) label="PostgreSQL --cache 0" ;;
		esac
		TARGETS+=("$(verdict 1.5 "$k") reads flat, $label, ${sizes[0]} -> ${sizes[-1]} items (p50 within 1.5x): ${k}x")
	done
}

# ------------------------------------------------------------------ run ---

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$SECONDS
say "linksyncd: $LKS_BIN; sections: $(for s in "${ALL_SECTIONS[@]}"; do want "$s" && printf '%s ' "$s"; done)"
say "$DUR s per run, $ROUNDS GET rounds; work dir $WORK; load average before: $LOAD_START"
((GC_FLAG)) || say "this linksyncd has no --group-commit flag: POST is measured as it is"

for s in "${ALL_SECTIONS[@]}"; do
	want "$s" && "section_$s"
done
stop_main
stop_nginx

# --------------------------------------------------------------- report ---

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
REPORT=$WORK/report.txt
{
	commit=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$ROOT" diff --quiet HEAD -- src include 2>/dev/null || commit="$commit+dirty"
	cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
	echo "linksync benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $commit, $((SECONDS - T_START)) s"
	echo "linksyncd: $LKS_BIN, built $(date -u -r "$LKS_BIN" '+%Y-%m-%d %H:%M UTC')$(
		((GC_FLAG)) && echo ", has --group-commit" || echo ", no --group-commit flag")"
	echo "machine: $(nproc) CPUs ($cpu); $(nginx -v 2>&1 | sed 's/^nginx version: //'); $(wrk -v 2>&1 | head -n 1 | awk '{ print "wrk " $2 }')"
	echo "sections: $(for s in "${ALL_SECTIONS[@]}"; do want "$s" && printf '%s ' "$s"; done)"
	echo "runs: wrk -t$WRK_THREADS -cN -d${DUR}s --timeout 10s --latency, keep-alive, loopback; wrk shares the CPUs with the server"
	want latency && echo "      (but in the latency section: the server on CPU $SRV_CPU, wrk -t1 on CPU $WRK_CPU)"
	if [[ $NGINX_CACHE == 1 ]]; then
		echo "nginx: static file, sendfile, access_log off, open_file_cache on (LKS_BENCH_NGINX_CACHE=1)"
	else
		echo "nginx: static file, sendfile, access_log off, no open_file_cache (LKS_BENCH_NGINX_CACHE=1 adds it)"
	fi
	echo "cpu us/req: server CPU time (user+sys, all threads/workers) per answered request"
	echo "load average (1/5/15 min): $LOAD_START before, $LOAD_END after; other processes on the machine share the CPUs too"
	echo
	cat "$WORK"/report/*.txt
	echo "targets (DESIGN.md)"
	for t in "${TARGETS[@]}"; do
		echo "  $t"
	done
	errs=0
	for k in "${!ERR[@]}"; do
		errs=$((errs + ${ERR[$k]}))
	done
	if ((errs == 0)) && ((${#ERRNOTE[@]} == 0)); then
		echo "  ok   every request answered 2xx/3xx; every idle connection opened; every sweep finished$(
			want latency && echo "; no server stalled")"
	else
		echo "  FAIL $errs failed requests, ${#ERRNOTE[@]} runs with failures: those numbers are not results"
		for k in "${!ERRNOTE[@]}"; do
			echo "       ${ERRNOTE[$k]}"
		done
	fi
} >"$REPORT"
rm -f "$WORK"/report/*.txt

echo
cat "$REPORT"
if [[ $OUT != - ]]; then
	cp "$REPORT" "$OUT"
	say "also written to $OUT"
fi
