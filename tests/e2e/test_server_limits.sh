#!/usr/bin/env bash
# End-to-end tests of linksyncd's limits: the body size limit (413 before
# reading a body of known length, 413 after draining a chunked one, a body of
# exactly the limit accepted), the header size limit, connection limits, and
# slow clients: about 1,100 connections trickling a byte a second must not
# starve a normal client, and connections left idle or stalled are closed by
# --timeout. Everything is bounded in time and every background job is killed.
# shellcheck source=lib.sh disable=SC2016,SC2317 # single-quoted bash -c scripts; helpers run via check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOGS=()
W="$TMP/work"
LIMIT=1048576 # --max-size 1M
mkdir -p "$W"

start() {
	start_server --public-url http://lks.test "$@"
	LOGS+=("$SERVER_LOG")
}

# now_ms: wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME//[.,]/}
	echo $((t / 1000))
}

rows() {
	db_count_items
}

# Background jobs to kill on the way out, whatever happens.
BG_PIDS=()
kill_background() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
}
trap 'kill_background; cleanup' EXIT

# stop_clean: SIGTERM, and the server must exit 0.
stop_clean() {
	check "server still running before its stop" kill -0 "$SERVER_PID"
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID"
	check_eq "SIGTERM: clean exit" 0 "$?"
	SERVER_PID=""
}

# post OUT CURL-ARGS...: POST to the API; body in $W/OUT; prints
# "CODE UPLOADED SECONDS".
post() {
	local out=$1
	shift
	: >"$W/$out"
	curl -sS --max-time 60 -o "$W/$out" -w '%{http_code} %{size_upload} %{time_total}' \
		-X POST -H 'Content-Type: application/octet-stream' "$@" "$BASE/api/v1/items"
}

# ===========================================================================
# Body size
start --max-size 1M
echo "# server on $BASE ($LINKSYNCD)"
head -c $((2 * 1000 * 1000)) /dev/urandom >"$W/2mb"
head -c "$LIMIT" /dev/urandom >"$W/exact"
head -c $((LIMIT + 1)) /dev/urandom >"$W/over"
before=$(rows)

# Content-Length over the limit, with curl's Expect: 100-continue: refused
# before the body, so curl sends none of it.
read -r code up _ <<<"$(post r1 --data-binary @"$W/2mb")"
check_eq "2 MB with Content-Length: 413" 413 "$code"
check "2 MB with Content-Length: body not sent ($up bytes)" test "$up" -lt "$LIMIT"
check "413 is JSON with the limit" grep -q '"error":"too_large".*1048576' "$W/r1"
# Without Expect, and uploading slowly: 2 MB at 200 KB/s would take 10 s if
# the server read it; it answers at once instead.
t0=$(now_ms)
read -r code up _ <<<"$(post r2 -H 'Expect:' --limit-rate 200k --data-binary @"$W/2mb")"
t1=$(now_ms)
check_eq "2 MB slow upload without Expect: 413" 413 "$code"
# A client that does not wait for 100 Continue is answered after its body
# (read and dropped, up to a bound): closing early would reset the connection
# before the client reads the 413 (see the loop below).
echo "  (slow upload without Expect answered after $((t1 - t0)) ms, $up bytes sent)"
# Several times in a row: the 413 must reach the client every time, not a
# broken pipe or a reset (a server that closes while the client still sends
# makes the client fail before it reads the answer).
lost=0
for i in $(seq 1 10); do
	code=$(curl -sS --max-time 60 -o /dev/null -w '%{http_code}' -H 'Expect:' \
		--data-binary @"$W/2mb" "$BASE/api/v1/items" 2>"$W/r3.err")
	if [ "$code" != 413 ]; then
		lost=$((lost + 1))
		echo "  try $i: HTTP $code: $(tr '\n' ' ' <"$W/r3.err")"
	fi
done
check_eq "2 MB without Expect, 10 times: the 413 always arrives" 0 "$lost"

# One byte over, declared: 413.
read -r code up _ <<<"$(post r4 --data-binary @"$W/over")"
check_eq "limit + 1 byte with Content-Length: 413" 413 "$code"
# Exactly the limit: accepted, byte-identical.
read -r code up _ <<<"$(post r5 -H 'Accept: text/plain' --data-binary @"$W/exact")"
check_eq "exactly the limit with Content-Length: 201" 201 "$code"
id=$(tr -d '\n' <"$W/r5" | sed 's#.*/##')
curl -sS -o "$W/got" "$BASE/$id/raw"
cmp -s "$W/exact" "$W/got"
check "exactly the limit: byte-identical" test $? = 0

# Chunked: the size is known only at the end.
read -r code up _ <<<"$(post r6 -H 'Transfer-Encoding: chunked' --data-binary @"$W/2mb")"
check_eq "2 MB chunked: 413" 413 "$code"
check "2 MB chunked: 413 is JSON" grep -q '"error":"too_large"' "$W/r6"
read -r code up _ <<<"$(post r7 -H 'Transfer-Encoding: chunked' --data-binary @"$W/over")"
check_eq "limit + 1 chunked: 413" 413 "$code"
read -r code up _ <<<"$(post r8 -H 'Transfer-Encoding: chunked' -H 'Accept: text/plain' --data-binary @"$W/exact")"
check_eq "exactly the limit chunked: 201" 201 "$code"
id=$(tr -d '\n' <"$W/r8" | sed 's#.*/##')
curl -sS -o "$W/got" "$BASE/$id/raw"
cmp -s "$W/exact" "$W/got"
check "exactly the limit chunked: byte-identical" test $? = 0
# A chunked body far past the limit is not read forever: the server drains up
# to its bound and then closes; the client gets a 413 or a closed connection
# (curl then reports 000, or the 100 Continue it saw) well before it could
# send everything.
t0=$(now_ms)
code=$(head -c $((200 * 1024 * 1024)) /dev/zero | curl -sS --max-time 60 -o /dev/null -w '%{http_code}' \
	-X POST -H 'Transfer-Encoding: chunked' --data-binary @- "$BASE/api/v1/items" 2>/dev/null)
t1=$(now_ms)
check "200 MiB chunked: refused (HTTP $code) in $((t1 - t0)) ms" \
	test \( "$code" = 413 -o "$code" = 000 -o "$code" = 100 \) -a $((t1 - t0)) -lt 30000

# curl -T (PUT) and the owner's update obey the same limit.
code=$(curl -sS --max-time 30 -o "$W/r9" -w '%{http_code}' -T "$W/2mb" "$BASE/big.bin")
check_eq "curl -T 2 MB: 413" 413 "$code"
create=$(curl -sS -H 'Accept: application/json' -T "$W/exact" "$BASE/small.bin")
tok=$(grep -o '"owner_token": *"[^"]*"' <<<"$create" | sed 's/.*"\([^"]*\)"$/\1/')
uid=$(grep -o '"id": *"[^"]*"' <<<"$create" | sed 's/.*"\([^"]*\)"$/\1/')
code=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $tok" \
	--data-binary @"$W/2mb" "$BASE/api/v1/items/$uid")
check_eq "update with 2 MB: 413" 413 "$code"
code=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $tok" \
	-H 'Transfer-Encoding: chunked' --data-binary @"$W/2mb" "$BASE/api/v1/items/$uid")
check_eq "update with 2 MB chunked: 413" 413 "$code"
curl -sS -o "$W/got" "$BASE/$uid/raw"
cmp -s "$W/exact" "$W/got"
check "refused update left the content" test $? = 0
check_eq "only the two accepted items (and the one updated) were stored" $((before + 3)) "$(rows)"

# Headers: bounded by the connection memory limit.
big_header=$(head -c 40000 /dev/zero | tr '\0' a)
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "X-Big: $big_header" "$BASE/healthz")
check_eq "40 KB header: 431" 431 "$code"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$big_header")
check "40 KB URL: refused (HTTP $code)" test "$code" = 414 -o "$code" = 431
check_eq "still healthy after the refusals" ok "$(curl -sS --max-time 5 "$BASE/healthz")"
stop_clean

# ===========================================================================
# Connection limits: --max-connections-per-ip
start --max-connections-per-ip 5 --timeout 30
fds=()
for i in $(seq 1 5); do
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	fds+=("$fd")
done
sleep 0.3
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
check "per-IP limit 5: a 6th connection is refused (HTTP $code)" test "$code" != 200
for fd in "${fds[@]}"; do exec {fd}>&-; done
ok_after=000
for _ in $(seq 1 30); do
	ok_after=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "$BASE/healthz" 2>/dev/null)
	[ "$ok_after" = 200 ] && break
	sleep 0.1
done
check_eq "per-IP limit: served again once the connections close" 200 "$ok_after"
stop_clean

# ===========================================================================
# Slow clients: ~1,100 connections trickling a byte a second, --timeout 3.
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
SLOW=1100
room=$(($(ulimit -n) - 200))
[ "$SLOW" -gt "$room" ] && SLOW=$room
start --timeout 3
slow=()
opened=0
for i in $(seq 1 "$SLOW"); do
	if exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; then
		printf 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ' >&"$fd"
		slow+=("$fd")
		opened=$((opened + 1))
	fi
done 2>/dev/null
check "slow clients: opened $opened of $SLOW connections" test "$opened" -ge $((SLOW * 95 / 100))
# A byte a second on each; writes to a closed connection fail quietly. Each
# pass is logged, so that a machine too loaded to trickle in time is told
# apart from a server that drops active connections.
(
	trap '' PIPE
	while :; do
		for fd in "${slow[@]}"; do
			printf 'a' >&"$fd"
		done 2>/dev/null
		now_ms >>"$W/trickle.log"
		sleep 1
	done
) &
TRICKLER=$!
BG_PIDS+=("$TRICKLER")
# Past the timeout: trickling connections stay (activity resets the timer)...
sleep 4.5
port_hex=$(printf '%04X' "$PORT")
established=$(awk -v p=":$port_hex" '$2 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l)
gap=$(awk 'NR > 1 && $1 - prev > max { max = $1 - prev } { prev = $1 } END { print max + 0 }' "$W/trickle.log")
if [ "$gap" -lt 2500 ]; then
	check "slow clients: the server holds them past the timeout ($established established)" \
		test "$established" -ge $((opened * 9 / 10))
else
	ok "slow clients: not checked: this machine left $gap ms between two trickles"
fi
# ...and a normal client is still served at once.
t0=$(now_ms)
code=$(curl -sS --max-time 2 -o "$W/hz" -w '%{http_code}' "$BASE/healthz")
t1=$(now_ms)
check_eq "slow clients: /healthz answers" 200 "$code"
check "slow clients: /healthz within 2 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
t0=$(now_ms)
code=$(curl -sS --max-time 2 -o "$W/pz" -w '%{http_code}' -H 'Accept: text/plain' \
	--data-binary 'still works' "$BASE/api/v1/items")
t1=$(now_ms)
check_eq "slow clients: a push still works" 201 "$code"
check "slow clients: the push within 2 s ($((t1 - t0)) ms)" test $((t1 - t0)) -lt 2000
id=$(tr -d '\n' <"$W/pz" | sed 's#.*/##')
check_eq "slow clients: and the pull" 'still works' "$(curl -sS --max-time 2 "$BASE/$id/raw")"
# Ten normal clients at once.
pids=()
for i in $(seq 1 10); do
	curl -sS --max-time 2 -o /dev/null -w '%{http_code}\n' "$BASE/healthz" >"$W/par.$i" 2>/dev/null &
	pids+=($!)
done
wait "${pids[@]}"
check_eq "slow clients: ten parallel clients all served" 10 "$(cat "$W"/par.* | grep -c '^200$')"

# Stop trickling: the server closes every stalled connection after ~3 s.
kill -KILL "$TRICKLER"
wait "$TRICKLER" 2>/dev/null
BG_PIDS=()
# Seen from the kernel: the server side of each socket is gone from
# ESTABLISHED, and so is ours (bash cannot poll descriptors
# past 1023 with read -t). Expected after ~3 s; allowed 15 s on a loaded machine.
t0=$(now_ms)
for _ in $(seq 1 150); do
	server_side=$(awk -v p=":$port_hex" '$2 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l)
	[ "$server_side" = 0 ] && break
	sleep 0.1
done
t1=$(now_ms)
echo "# stalled connections closed $((t1 - t0)) ms after the trickle stopped"
client_open=$(awk -v p=":$port_hex" '$3 ~ p"$" && $4 == "01"' /proc/net/tcp | wc -l)
check_eq "stalled connections: none left open on the server" 0 "$server_side"
for fd in "${slow[@]}"; do
	exec {fd}>&-
done
check_eq "stalled connections: none left open on our side either" 0 "$client_open"
check_eq "healthy after the slow clients" ok "$(curl -sS --max-time 2 "$BASE/healthz")"

# A connection opened and left idle is closed after ~3 s.
measure_close() { # TEXT-TO-SEND: prints ms until the server closes (or 'open')
	local fd t0 t1
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"
	t0=$(now_ms)
	[ -n "$1" ] && printf '%b' "$1" >&"$fd"
	while IFS= read -r -t 15 -u "$fd" _; do :; done
	if [ $? -gt 128 ]; then
		echo open
	else
		t1=$(now_ms)
		echo $((t1 - t0))
	fi
	exec {fd}>&-
}
in_window() { # MS: not before the timeout, and well before 15 s (a loaded machine is slow)
	[ "$1" != open ] && [ "$1" -ge 2500 ] && [ "$1" -le 10000 ]
}
rows_before=$(rows)
ms=$(measure_close '')
check "idle connection closed after ~3 s ($ms ms)" in_window "$ms"
ms=$(measure_close 'GET /healthz HTTP/1.1\r\nHost: x\r\n')
check "half-sent request closed after ~3 s ($ms ms)" in_window "$ms"
ms=$(measure_close 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n')
check "idle keep-alive connection closed after ~3 s ($ms ms)" in_window "$ms"
ms=$(measure_close 'POST /api/v1/items HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of the body')
check "stalled upload closed after ~3 s ($ms ms)" in_window "$ms"
check_eq "the stalled upload stored nothing" "$rows_before" "$(rows)"
stop_clean

check "no sanitizer report in the server logs" \
	bash -c '! grep -qE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$@"' _ "${LOGS[@]}"
if [ "$FAILED" -gt 0 ]; then
	for log in "${LOGS[@]}"; do
		echo "--- $log"
		cat "$log"
	done
fi
finish
