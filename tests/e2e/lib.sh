# Shared helpers for the end-to-end tests: start the real linksyncd on a free
# loopback port with a throwaway store, look into that store whatever its
# backend, count checks, and clean up.
# Environment: LKS_BIN (build dir) and LKS_SRC (source tree), set by ctest;
# LKS_PG_URL, a PostgreSQL database (e.g. from scripts/pg.sh, as `make
# test-pg` does): when set, every store is a fresh schema in it (dropped at
# the end), else a fresh SQLite file. LKS_STORE_KIND tells which (sqlite or
# postgres); tests ask through the db_* helpers, which work on both.
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
STORE=${STORE:-}   # the store URL start_server uses; new_store sets it
DB=""              # SQLite: the store's file
DB_URL=""          # PostgreSQL: a psql URL whose search_path is the store's schema
PG_SCHEMAS=()      # schemas this test made, dropped by cleanup
STORES=0
if [ -n "${LKS_PG_URL:-}" ]; then
	LKS_STORE_KIND=postgres
	command -v psql >/dev/null 2>&1 || {
		echo "LKS_PG_URL is set but psql is missing (apt-get install postgresql-client)" >&2
		rm -rf "$TMP"
		exit 1
	}
else
	LKS_STORE_KIND=sqlite
fi
export LKS_STORE_KIND

AT_EXIT=()         # commands cleanup runs first (at_exit)

# at_exit COMMAND...: runs COMMAND (one string, eval'd) when the test ends,
# whatever ends it, before the server stops (background jobs, a balancer).
at_exit() { AT_EXIT+=("$*"); }

cleanup() {
	local c s
	for c in "${AT_EXIT[@]}"; do
		eval "$c"
	done
	stop_server
	for s in "${PG_SCHEMAS[@]}"; do
		psql "$LKS_PG_URL" -qAtc "DROP SCHEMA IF EXISTS $s CASCADE" >/dev/null 2>&1
	done
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

# --- The store, whatever its backend -----------------------------------------

on_postgres() { [ "$LKS_STORE_KIND" = postgres ]; }

# skip_unless_sqlite WHY: ends a test that only means something on SQLite
# (it reads the file, its WAL, the cache in front of it) with a skip line.
skip_unless_sqlite() {
	if on_postgres; then
		echo "skip - SQLite only: $1"
		echo "0 passed, 0 failed"
		exit 0
	fi
}

# new_store: points STORE at a fresh, empty store (a new SQLite file, or a
# new schema in LKS_PG_URL) for the next start_server; sets DB or DB_URL.
new_store() {
	STORES=$((STORES + 1))
	if on_postgres; then
		local schema="lks_e2e_$$_${STORES}_$RANDOM" sep='?'
		if ! psql "$LKS_PG_URL" -qAtc "CREATE SCHEMA $schema" >/dev/null; then
			echo "cannot create schema $schema in $LKS_PG_URL" >&2
			exit 1
		fi
		PG_SCHEMAS+=("$schema")
		case "$LKS_PG_URL" in *\?*) sep='&' ;; esac
		DB_URL="$LKS_PG_URL${sep}options=-csearch_path%3D$schema"
		STORE="$DB_URL"
		DB=""
	else
		DB="$TMP/data$STORES/linksync.db"
		mkdir -p "$(dirname "$DB")"
		STORE="sqlite:$DB"
		DB_URL=""
	fi
}

# db_query SQL: runs SQL (written to work on both backends) on the current
# store and prints the rows, columns separated by '|'. Empty on an error.
db_query() {
	if on_postgres; then
		psql "$DB_URL" -qAtc "$1" 2>/dev/null
	else
		sqlite3 "$DB" "$1" 2>/dev/null
	fi
}

# db_count_items [CONDITION]: rows in the items table, live or not, where
# CONDITION (SQL on its columns, e.g. "expires_at <= 123") holds.
db_count_items() {
	db_query "SELECT count(*) FROM items${1:+ WHERE $1}"
}

# db_has_item ID: 1 when the store holds a row for ID (live or not), else 0.
db_has_item() {
	db_count_items "id = '$1'"
}

# db_content_ref ID: what names ID's content in the store (SQLite: the row
# of contents; PostgreSQL keeps the content in the item's row, so its id).
db_content_ref() {
	if on_postgres; then
		db_query "SELECT id FROM items WHERE id = '$1'"
	else
		db_query "SELECT rowid FROM items WHERE id = '$1'"
	fi
}

# db_has_content REF: 1 when the content db_content_ref named is stored.
db_has_content() {
	if on_postgres; then
		db_query "SELECT count(*) FROM items WHERE id = '$1' AND data IS NOT NULL"
	else
		db_query "SELECT count(*) FROM contents WHERE item = $1"
	fi
}

# db_broken_items: items whose content is missing or not of their size, plus
# content that belongs to no item (0 in a sound store).
db_broken_items() {
	if on_postgres; then
		db_query "SELECT count(*) FROM items WHERE data IS NULL OR length(data) <> size"
	else
		db_query "SELECT (SELECT count(*) FROM items i LEFT JOIN contents c ON c.item = i.rowid
			WHERE c.data IS NULL OR length(c.data) <> i.size)
			+ (SELECT count(*) FROM contents c LEFT JOIN items i ON c.item = i.rowid
			WHERE i.rowid IS NULL)"
	fi
}

# start_server [EXTRA FLAGS...]: starts linksyncd on 127.0.0.1 and a free port
# over the store in $STORE (default: a fresh store from new_store), waits
# until it answers, and sets PORT, BASE and SERVER_PID.
start_server() {
	[ -n "$STORE" ] || new_store
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

# For command-line tests. expect_exit DESCRIPTION CODE COMMAND...: passes
# when COMMAND exits with CODE; its stdout and stderr are kept in $OUT and $ERR.
OUT="$TMP/out"
ERR="$TMP/err"
expect_exit() {
	local what=$1 want=$2 got
	shift 2
	"$@" >"$OUT" 2>"$ERR"
	got=$?
	if [ "$got" = "$want" ]; then
		ok "$what (exit $want)"
	else
		fail "$what (expected exit $want, got $got; stderr: $(head -c 300 "$ERR"))"
	fi
}
# grep_ok DESCRIPTION PATTERN FILE
grep_ok() {
	if grep -q -- "$2" "$3"; then ok "$1"; else fail "$1 ('$2' not in: $(head -c 300 "$3"))"; fi
}

# Timing: now is a wall-clock timestamp in seconds; elapsed A B prints B - A
# (3 decimals); under D M and over D M compare two decimals.
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
under() { awk -v d="$1" -v m="$2" 'BEGIN { exit !(d < m) }'; }
over() { awk -v d="$1" -v m="$2" 'BEGIN { exit !(d > m) }'; }
# wait_for SECONDS COMMAND...: polls COMMAND every 20 ms until it succeeds.
wait_for() {
	local limit=$1 i
	shift
	for i in $(seq 1 $((limit * 50))); do
		if "$@"; then return 0; fi
		sleep 0.02
	done
	"$@"
}

# finish: prints the closing line and exits non-zero on any failure.
finish() {
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
	exit $?
}
