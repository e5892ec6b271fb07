# Shared helpers for the end-to-end tests: start the real linksyncd on a free
# loopback port with a throwaway store, count checks, and clean up.
# Environment (set by ctest): LKS_BIN (build dir), LKS_SRC (source tree),
# LKS_STORE_KIND (sqlite by default; postgres when a test cluster is given).
set -u
LKS_BIN=${LKS_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../build" && pwd)}
LKS_SRC=${LKS_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LINKSYNCD="$LKS_BIN/linksyncd"
LINKSYNC="$LKS_BIN/linksync"
TMP=$(mktemp -d /tmp/lks-e2e.XXXXXX)
export XDG_STATE_HOME="$TMP/state"
PASSED=0
FAILED=0
SERVER_PID=""
SERVER_LOG=""
PORT=""
BASE=""

cleanup() {
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT

ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else fail "$what"; fi
}
# check_eq DESCRIPTION EXPECTED ACTUAL
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (expected '$2', got '$3')"; fi
}

# start_server [EXTRA FLAGS...]: starts linksyncd on 127.0.0.1 and a free port
# over the store in $STORE (default: a fresh SQLite file), waits until it
# answers, and sets PORT, BASE and SERVER_PID.
start_server() {
	STORE=${STORE:-sqlite:$TMP/data/linksync.db}
	SERVER_LOG="$TMP/server.$$.$RANDOM.log"
	"$LINKSYNCD" --listen 127.0.0.1:0 --store "$STORE" "$@" >"$SERVER_LOG" 2>&1 &
	SERVER_PID=$!
	local i
	for i in $(seq 1 200); do
		PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$SERVER_LOG" | head -n1)
		if [ -n "$PORT" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
			BASE="http://127.0.0.1:$PORT"
			export LINKSYNC_SERVER="$BASE"
			return 0
		fi
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
		sleep 0.05
	done
	echo "linksyncd did not start:" >&2
	cat "$SERVER_LOG" >&2
	exit 1
}

# stop_server [SIGNAL]: stops the running server (TERM by default) and waits.
stop_server() {
	if [ -n "$SERVER_PID" ]; then
		kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
		wait "$SERVER_PID" 2>/dev/null
		SERVER_PID=""
	fi
}

# finish: prints the closing line and exits non-zero on any failure.
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}
