#!/usr/bin/env bash
# Runs the browser tests: starts linksyncd on a free loopback port with a
# throwaway store, runs `node --test` on tests/browser/ against it (Debian's
# chromium through playwright-core), and stops the server.
# Arguments are passed to `node --test` (e.g. --test-name-pattern=contact).
# Environment: LKS_BIN (build dir with linksyncd; default the source tree's
# build/), LKS_CHROMIUM (default /usr/bin/chromium), LKS_BROWSER_OUTPUT
# (screenshots and downloads; default tests/browser/output, emptied first).
# Needs: nodejs, `npm ci` at the source root (playwright-core), chromium, zbar-tools.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LKS_BIN=${LKS_BIN:-$SRC/build}
LINKSYNCD="$LKS_BIN/linksyncd"
CHROMIUM=${LKS_CHROMIUM:-/usr/bin/chromium}
if [ -z "${LKS_BROWSER_OUTPUT:-}" ]; then
	LKS_BROWSER_OUTPUT="$HERE/output"
	rm -rf "$LKS_BROWSER_OUTPUT" # ours: last run's pictures go
fi
export LKS_BROWSER_OUTPUT

missing=()
[ -x "$LINKSYNCD" ] || missing+=("linksyncd at $LINKSYNCD (build it, or set LKS_BIN)")
[ -x "$CHROMIUM" ] || missing+=("chromium at $CHROMIUM (apt-get install chromium)")
command -v zbarimg >/dev/null || missing+=("zbarimg (apt-get install zbar-tools)")
command -v node >/dev/null || missing+=("node (apt-get install nodejs)")
[ -f "$SRC/node_modules/playwright-core/package.json" ] ||
	missing+=("playwright-core (npm ci in $SRC)")
if [ ${#missing[@]} -gt 0 ]; then
	printf 'run.sh: missing %s\n' "${missing[@]}" >&2
	exit 2
fi

TMP=$(mktemp -d /tmp/lks-browser.XXXXXX)
SERVER_PID=""
cleanup() {
	if [ -n "$SERVER_PID" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf "$TMP"
}
trap cleanup EXIT

"$LINKSYNCD" --listen 127.0.0.1:0 --store "sqlite:$TMP/linksync.db" --quiet >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 1 200); do
	PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/server.log" | head -n1)
	if [ -n "$PORT" ] && curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1; then
		break
	fi
	PORT=""
	kill -0 "$SERVER_PID" 2>/dev/null || break
	sleep 0.05
done
if [ -z "$PORT" ]; then
	echo "run.sh: linksyncd did not start:" >&2
	cat "$TMP/server.log" >&2
	exit 1
fi
export LKS_BASE_URL="http://127.0.0.1:$PORT"
export LKS_BIN # the CLI for the end-to-end tests (zk.test.mjs)
export LKS_CHROMIUM="$CHROMIUM"
mkdir -p "$LKS_BROWSER_OUTPUT"

cd "$SRC"
# Two test files at a time (node 20 and later; 18 picks its own number).
flags=()
if node --test-concurrency=2 -e '' 2>/dev/null; then
	flags+=(--test-concurrency=2)
fi
status=0
node --test "${flags[@]}" "$@" tests/browser/*.test.mjs || status=$?
if ! kill -0 "$SERVER_PID" 2>/dev/null; then
	echo "run.sh: linksyncd died during the tests:" >&2
	cat "$TMP/server.log" >&2
	status=1
fi
echo "screenshots: $LKS_BROWSER_OUTPUT"
exit $status
