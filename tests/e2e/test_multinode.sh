#!/usr/bin/env bash
# Several linksyncd nodes on one PostgreSQL behind a load balancer (haproxy on
# loopback: round robin, health checks on /healthz), both nodes with the
# balancer's public URL. Items pushed through the balancer are pulled through
# each node; a read limit raced through both nodes delivers exactly as often
# as it allows; an update or a delete through one node is seen through the
# other (whose read cache hears of it by notification: asserted within 2 s,
# the delay printed), and wakes a long poll (and `pull --follow`) parked on the
# other node within about a second (delays printed; asserted under 5 s), also
# when the database cut the nodes' listening connections; the sweepers of
# both nodes purge 20,000 expired and used-up rows between them without an
# error; one node is killed with SIGKILL under load, the other keeps serving,
# and no acknowledged item is lost. Runs only on PostgreSQL (LKS_PG_URL, as
# `make test-pg` sets it); every wait is bounded.
# shellcheck source=lib.sh disable=SC2016,SC2317 # single-quoted bash -c scripts; helpers run via check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if ! on_postgres; then
	echo "skip - several nodes need a shared PostgreSQL: set LKS_PG_URL (make test-pg does)"
	echo "0 passed, 0 failed"
	exit 0
fi
if ! command -v haproxy >/dev/null 2>&1; then
	echo "skip - haproxy is missing (apt-get install haproxy; scripts/deps.sh test installs it)"
	echo "0 passed, 0 failed"
	exit 0
fi

W="$TMP/work"
mkdir -p "$W"
LOGS=()
TAG="lksmn$$" # names this test's database connections (application_name)

header() { grep -i "^$1:" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }
json_field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n1; }
code_of() { curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$@"; }
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the nodes and the balancer ------------------------------------------------------
new_store
LB_PORT=$(free_port)
PUBLIC="http://127.0.0.1:$LB_PORT"
declare -A NODE_PID NODE_PORT NODE_LOG

# start_node NAME [PORT]: starts a node on PORT (default: a free one) with the
# balancer's public URL, and waits until it answers.
start_node() {
	local name=$1 port=${2:-0} log="$TMP/node-$1.$RANDOM.log" i p=""
	"$LINKSYNCD" --listen "127.0.0.1:$port" --store "$STORE&application_name=${TAG}_$name" \
		--public-url "$PUBLIC" --sweep-interval 1s --threads 2 >"$log" 2>&1 &
	NODE_PID[$name]=$!
	NODE_LOG[$name]=$log
	LOGS+=("$log")
	for i in $(seq 1 200); do
		p=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$log" | head -n1)
		if [ -n "$p" ] && curl -fsS "http://127.0.0.1:$p/healthz" >/dev/null 2>&1; then
			NODE_PORT[$name]=$p
			return 0
		fi
		kill -0 "${NODE_PID[$name]}" 2>/dev/null || break
		sleep 0.05
	done
	echo "node $name did not start:" >&2
	cat "$log" >&2
	exit 1
}

# stop_node NAME [SIGNAL]: stops a node (TERM by default); sets RC to its exit code.
stop_node() {
	local pid=${NODE_PID[$1]:-}
	RC=""
	[ -n "$pid" ] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	RC=$?
	NODE_PID[$1]=""
}

HAPROXY_PID=""
stop_haproxy() {
	if [ -n "$HAPROXY_PID" ]; then
		kill -TERM "$HAPROXY_PID" 2>/dev/null
		wait "$HAPROXY_PID" 2>/dev/null
		HAPROXY_PID=""
	fi
}
BG_PIDS=()
kill_background() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	BG_PIDS=()
}
at_exit 'kill_background; stop_haproxy; stop_node a KILL; stop_node b KILL'

start_node a
start_node b
NA="http://127.0.0.1:${NODE_PORT[a]}"
NB="http://127.0.0.1:${NODE_PORT[b]}"
echo "# nodes a on $NA and b on $NB, one schema; the balancer on $PUBLIC"

# Round robin over both, a node counted down after two failed checks 300 ms
# apart; the answering node's name in a header, so the test can see who served.
# Requests that fail to connect are retried on the other node.
cat >"$TMP/haproxy.cfg" <<EOF
global
	maxconn 2000
defaults
	mode http
	timeout connect 2s
	timeout client 60s
	timeout server 60s
	timeout check 2s
	retries 3
	option redispatch
frontend lb
	bind 127.0.0.1:$LB_PORT
	default_backend nodes
backend nodes
	balance roundrobin
	option httpchk GET /healthz
	http-response set-header X-Linksync-Node %s
	default-server inter 300ms fall 2 rise 2
	server a 127.0.0.1:${NODE_PORT[a]} check
	server b 127.0.0.1:${NODE_PORT[b]} check
EOF
if ! haproxy -c -q -f "$TMP/haproxy.cfg" >"$W/haproxy-check.log" 2>&1; then
	cat "$W/haproxy-check.log"
	fail "haproxy refuses its configuration"
	finish
fi
haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.log" 2>&1 &
HAPROXY_PID=$!

# served_by N: the nodes that answered N health requests through the balancer.
served_by() {
	local i
	for i in $(seq 1 "$1"); do
		curl -s -D - -o /dev/null --max-time 5 "$PUBLIC/healthz" | header X-Linksync-Node
	done | sort -u | tr '\n' ' '
}
both_up() { [ "$(served_by 4)" = "a b " ]; }
check "the balancer sends requests to both nodes (round robin)" wait_for 15 both_up

# --- push through the balancer, pull through each node -------------------------------
head -c 100000 /dev/urandom >"$W/f1"
: >"$W/f2"
printf 'a note through the balancer\n' >"$W/f3"
head -c 3000000 /dev/urandom >"$W/f4"
IDS=()
for f in f1 f2 f3 f4; do
	url=$(curl -sS --max-time 30 -H 'Accept: text/plain' -H 'Content-Type: application/octet-stream' \
		--data-binary @"$W/$f" "$PUBLIC/api/v1/items")
	if [[ $url =~ ^$PUBLIC/([a-z2-7]{26})$ ]]; then
		ok "push of $f through the balancer answers a link on the balancer"
		IDS+=("${BASH_REMATCH[1]}")
		for node in a b; do
			curl -sS --max-time 30 -o "$W/$f.$node" "http://127.0.0.1:${NODE_PORT[$node]}/${BASH_REMATCH[1]}/raw"
			check "$f pulled through node $node is byte-identical" cmp -s "$W/$f" "$W/$f.$node"
		done
		curl -sS --max-time 30 -o "$W/$f.lb" "$url/raw"
		check "$f pulled through its link is byte-identical" cmp -s "$W/$f" "$W/$f.lb"
	else
		fail "push of $f through the balancer answered '$url'"
	fi
done
url=$(curl -sS --max-time 30 -H 'Accept: text/plain' --data-binary 'straight to b' "$NB/api/v1/items")
check "a push straight to node b also answers a link on the balancer" \
	grep -qE "^$PUBLIC/[a-z2-7]{26}\$" <<<"$url"
LINKSYNC_SERVER="$PUBLIC" "$LINKSYNC" push "$W/f3" >"$W/cli.url" 2>"$W/cli.err"
check_eq "the CLI pushes through the balancer" 0 $?
"$LINKSYNC" pull "$(cat "$W/cli.url")" -o "$W/f3.cli" 2>>"$W/cli.err"
check "and pulls it back through the balancer" cmp -s "$W/f3" "$W/f3.cli"

# --- a read limit raced through both nodes -------------------------------------------
# race READS N: N readers at once, alternately through a and b, on a new item
# with READS reads; sets WINS (200s) and LOSSES (404s).
race() {
	local reads=$1 n=$2 id i node pids=()
	id=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary "limited to $reads" \
		"$PUBLIC/api/v1/items?reads=$reads" | json_field id)
	rm -rf "$W/race"
	mkdir -p "$W/race"
	for i in $(seq 1 "$n"); do
		node=$([ $((i % 2)) = 0 ] && echo "$NA" || echo "$NB")
		curl -s --max-time 30 -o "$W/race/body.$i" -w '%{http_code}\n' "$node/$id/raw" >"$W/race/code.$i" &
		pids+=($!)
	done
	wait "${pids[@]}"
	WINS=$(cat "$W"/race/code.* | grep -c '^200$')
	LOSSES=$(cat "$W"/race/code.* | grep -c '^404$')
	RIGHT=$(for f in $(grep -l '^200$' "$W"/race/code.*); do cat "${f/code/body}"; echo; done |
		grep -c "^limited to $reads\$")
}
race 1 40
check_eq "reads=1 raced by 40 readers through two nodes: exactly one 200" 1 "$WINS"
check_eq "and 39 404" 39 "$LOSSES"
check_eq "the winner got the content" 1 "$RIGHT"
race 3 40
check_eq "reads=3 raced by 40 readers through two nodes: exactly three 200" 3 "$WINS"
check_eq "and 37 404" 37 "$LOSSES"
check_eq "each winner got the content" 3 "$RIGHT"

# --- an update through one node is seen through the other ----------------------------
doc=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary 'version one' "$NA/api/v1/items")
ID=$(json_field id <<<"$doc")
TOKEN=$(json_field owner_token <<<"$doc")
E1=$(curl -s -D - -o /dev/null "$NB/$ID/raw" | header ETag)
check_eq "update through a" 200 "$(code_of -X PUT -H "Authorization: Bearer $TOKEN" \
	-H 'Content-Type: text/plain' --data-binary 'version two' "$NA/api/v1/items/$ID")"
# Node b read version one into its cache above; the change reaches it by
# notification, after milliseconds (the cache's one window of staleness).
serves() { [ "$(curl -s "$1/$2/raw")" = "$3" ]; }
TU=$(now)
check "node b serves the new content within 2 s" wait_for 2 serves "$NB" "$ID" "version two"
echo "# node b served the update through a after $(elapsed "$TU" "$(now)") s (polled every 20 ms)"
E2=$(curl -s -D - -o /dev/null "$NB/$ID/raw" | header ETag)
check "with a new ETag" test -n "$E2" -a "$E2" != "$E1"
check "and the new version in its metadata" grep -q '"version"[[:space:]]*:[[:space:]]*2[,}]' \
	<(curl -s "$NB/api/v1/items/$ID")
check_eq "node b answers 304 to the new ETag" 304 "$(code_of -H "If-None-Match: $E2" "$NB/$ID/raw")"
check_eq "node a serves it too (and caches it)" "version two" "$(curl -s "$NA/$ID/raw")"
check_eq "delete through b" 204 "$(code_of -X DELETE -H "Authorization: Bearer $TOKEN" "$NB/api/v1/items/$ID")"
gone() { [ "$(code_of "$1/$2/raw")" = 404 ]; }
check "node a answers 404 within 2 s" wait_for 2 gone "$NA" "$ID"
check_eq "and its metadata too" 404 "$(code_of "$NA/api/v1/items/$ID")"

# --- a long poll parked on one node wakes when another node changes the item ---------
# poll NODE ID ETAG NAME: a long poll (30 s) in the background; its status,
# time and end go to $W/NAME.{out,done}.
poll() {
	(
		curl -s -o "$W/$4.body" -w '%{http_code} %{time_total}' -H "If-None-Match: $3" \
			--max-time 40 "$1/$2/raw?wait=30" >"$W/$4.out"
		now >"$W/$4.done"
	) &
	POLL=$!
}
doc=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary 'v1' "$NA/api/v1/items")
ID=$(json_field id <<<"$doc")
TOKEN=$(json_field owner_token <<<"$doc")
E=$(curl -s -I "$NB/$ID/raw" | header ETag)
DELAYS=""
for round in 1 2 3; do
	poll "$NB" "$ID" "$E" "wake$round"
	sleep 1 # parked by now (if not, it answers at once with the old content)
	TU=$(now)
	curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
		--data-binary "v$((round + 1))" "$NA/api/v1/items/$ID"
	wait "$POLL"
	read -r CODE TOTAL <"$W/wake$round.out"
	DELAY=$(elapsed "$TU" "$(cat "$W/wake$round.done")")
	DELAYS="$DELAYS $DELAY"
	check_eq "round $round: a long poll on b is answered by an update through a" 200 "$CODE"
	check_eq "round $round: with the new content" "v$((round + 1))" "$(cat "$W/wake$round.body")"
	check "round $round: it was parked (waited over 0.8 s: $TOTAL s)" over "$TOTAL" 0.8
	check "round $round: it woke $DELAY s after the update (asserted: under 5 s)" under "$DELAY" 5
	E=$(curl -s -I "$NB/$ID/raw" | header ETag)
done
echo "# cross-node wake delays (update through a, long poll on b):$DELAYS s"

poll "$NB" "$ID" "$E" wakedel
sleep 1
TU=$(now)
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "$NA/api/v1/items/$ID"
wait "$POLL"
read -r CODE TOTAL <"$W/wakedel.out"
DELAY=$(elapsed "$TU" "$(cat "$W/wakedel.done")")
check_eq "a long poll on b gets 404 when the item is deleted through a" 404 "$CODE"
check "within 5 s ($DELAY s)" under "$DELAY" 5

doc=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary 'once' "$NA/api/v1/items?reads=1")
ID=$(json_field id <<<"$doc")
E=$(curl -s -I "$NB/$ID/raw" | header ETag)
poll "$NB" "$ID" "$E" wakeread
sleep 1
TU=$(now)
check_eq "the last read, taken through a" once "$(curl -s "$NA/$ID/raw")"
wait "$POLL"
read -r CODE TOTAL <"$W/wakeread.out"
DELAY=$(elapsed "$TU" "$(cat "$W/wakeread.done")")
check_eq "ends a long poll on b with 404" 404 "$CODE"
check "within 5 s ($DELAY s)" under "$DELAY" 5

# pull --follow through b sees an update through a.
printf 'follow one\n' >"$W/fo1"
printf 'follow two\n' >"$W/fo2"
doc=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary @"$W/fo1" "$NA/api/v1/items")
ID=$(json_field id <<<"$doc")
TOKEN=$(json_field owner_token <<<"$doc")
"$LINKSYNC" pull "$NB/$ID" -o "$W/follow.out" --follow 2>"$W/follow.err" &
FPID=$!
BG_PIDS+=("$FPID")
same() { cmp -s "$1" "$2" 2>/dev/null; }
check "pull --follow through b gets the first version" wait_for 10 same "$W/fo1" "$W/follow.out"
sleep 1
TU=$(now)
curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
	--data-binary @"$W/fo2" "$NA/api/v1/items/$ID"
if wait_for 10 same "$W/fo2" "$W/follow.out"; then
	DELAY=$(elapsed "$TU" "$(now)")
	echo "# pull --follow through b saw the update through a after $DELAY s (polled every 20 ms)"
	check "pull --follow through b sees an update through a within 5 s ($DELAY s)" under "$DELAY" 5
else
	fail "pull --follow through b did not see the update through a within 10 s"
fi
kill -INT "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
BG_PIDS=()

# --- the database cuts the listening connections --------------------------------------
# A change made while a node is cut off is caught when it is back (it asks
# again about every item it waits on), and later changes wake it as before.
cut_listeners() {
	psql "$LKS_PG_URL" -qAtc "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name LIKE '${TAG}_%' AND query NOT LIKE '%items%'
		AND pid <> pg_backend_pid()"
}
doc=$(curl -sS --max-time 10 -H 'Content-Type: text/plain' --data-binary 'before the cut' "$NA/api/v1/items")
ID=$(json_field id <<<"$doc")
TOKEN=$(json_field owner_token <<<"$doc")
E=$(curl -s -I "$NB/$ID/raw" | header ETag)
poll "$NB" "$ID" "$E" cut
sleep 1
check_eq "the database cuts both nodes' listening connections" 2 "$(cut_listeners)"
TU=$(now)
curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
	--data-binary 'during the cut' "$NA/api/v1/items/$ID"
wait "$POLL"
read -r CODE TOTAL <"$W/cut.out"
DELAY=$(elapsed "$TU" "$(cat "$W/cut.done")")
check_eq "a long poll on b sees an update made while its node was cut off" 200 "$CODE"
check "within 5 s ($DELAY s)" under "$DELAY" 5
resumed() { grep -q "notifications resumed" "${NODE_LOG[a]}" && grep -q "notifications resumed" "${NODE_LOG[b]}"; }
check "both nodes listen again (and say so in their logs)" wait_for 10 resumed
E=$(curl -s -I "$NB/$ID/raw" | header ETag)
poll "$NB" "$ID" "$E" aftercut
sleep 1
TU=$(now)
curl -s -o /dev/null -X PUT -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
	--data-binary 'after the cut' "$NA/api/v1/items/$ID"
wait "$POLL"
read -r CODE TOTAL <"$W/aftercut.out"
DELAY=$(elapsed "$TU" "$(cat "$W/aftercut.done")")
check_eq "after the cut, updates through a wake long polls on b again" 200 "$CODE"
check "within 5 s ($DELAY s)" under "$DELAY" 5

# --- the sweepers of both nodes -----------------------------------------------------
# 20,000 expired and 2,000 used-up rows straight into the table: both nodes
# sweep every second in batches of 500, skipping each other's locked rows.
LIVE_IDS=()
for i in 1 2 3 4 5; do
	LIVE_IDS+=("$(curl -sS --max-time 10 -H 'Accept: text/plain' --data-binary "live $i" \
		"$PUBLIC/api/v1/items" | sed 's#.*/##')")
done
NOW=$(date +%s)
db_query "WITH ins AS (INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at,
	expires_at, version, reads_left, token_hash, content_hash, data)
SELECT 'swept' || lpad(i::text, 21, '0'), 0, 'text/plain', NULL, NULL, 64, $NOW - 7200, $NOW - 7200,
	CASE WHEN i <= 20000 THEN $NOW - 3600 ELSE $NOW + 3600 END, 1, CASE WHEN i <= 20000 THEN -1 ELSE 0 END,
	decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), decode(repeat(md5(i::text), 4), 'hex')
FROM generate_series(1, 22000) i RETURNING 1) SELECT count(*) FROM ins" >"$TMP/insert.out"
T0=$(now)
# psql's own count: the nodes may already be sweeping when we could count.
check_eq "22,000 rows to sweep inserted" 22000 "$(tail -n1 "$TMP/insert.out")"
swept() { [ "$(db_count_items "id LIKE 'swept%'")" = 0 ]; }
if wait_for 60 swept; then
	ok "the two nodes swept them all within $(elapsed "$T0" "$(now)") s"
else
	fail "$(db_count_items "id LIKE 'swept%'") rows left after 60 s"
fi
check "no sweep error in either node's log" bash -c '! grep -q "sweep:" "$@"' _ "${NODE_LOG[a]}" "${NODE_LOG[b]}"
live=0
for id in "${LIVE_IDS[@]}"; do
	[ "$(code_of "$PUBLIC/$id/raw")" = 200 ] && live=$((live + 1))
done
check_eq "the live items survived both sweepers" 5 "$live"

# --- one node killed under load -------------------------------------------------------
# pusher N: pushes through the balancer until $W/stop exists; for every 201
# appends "ID FILE" to $W/acked.N (FILE holds the exact bytes sent), and
# counts failed requests in $W/failed.N.
pusher() {
	local n=$1 i=0 f out code url
	mkdir -p "$W/p$n"
	: >"$W/acked.$n"
	: >"$W/failed.$n"
	while [ ! -e "$W/stop" ]; do
		i=$((i + 1))
		f="$W/p$n/$i.dat"
		if [ $((i % 3)) = 0 ]; then
			head -c $((RANDOM * 2 + 1)) /dev/urandom >"$f"
		else
			printf 'pusher %s item %s %s\n' "$n" "$i" "$RANDOM$RANDOM" >"$f"
		fi
		if out=$(curl -sS --max-time 10 -H 'Accept: text/plain' \
			-H 'Content-Type: application/octet-stream' --data-binary @"$f" \
			-w '\n%{http_code}' "$PUBLIC/api/v1/items?ttl=1h" 2>/dev/null); then
			code=${out##*$'\n'}
			url=${out%%$'\n'*}
			if [ "$code" = 201 ] && [[ $url =~ ^$PUBLIC/([a-z2-7]{26})$ ]]; then
				echo "${BASH_REMATCH[1]} $f" >>"$W/acked.$n"
				continue
			fi
		fi
		echo x >>"$W/failed.$n"
		sleep 0.05
	done
}
acked() { cat "$W"/acked.* 2>/dev/null | wc -l; }
for n in 1 2 3 4; do
	pusher "$n" &
	BG_PIDS+=($!)
done
for _ in $(seq 1 200); do
	[ "$(acked)" -ge 40 ] && break
	sleep 0.1
done
AT_KILL=$(acked)
check "load through the balancer before the kill ($AT_KILL acknowledged)" test "$AT_KILL" -ge 40
stop_node a KILL
echo "# node a killed with SIGKILL after $AT_KILL acknowledged items"
for _ in $(seq 1 200); do
	[ "$(acked)" -ge $((AT_KILL + 60)) ] && break
	sleep 0.1
done
touch "$W/stop"
wait "${BG_PIDS[@]}"
BG_PIDS=()
TOTAL_ACKED=$(acked)
FAILED_REQ=$(cat "$W"/failed.* | wc -l)
echo "# $TOTAL_ACKED acknowledged in all, $((TOTAL_ACKED - AT_KILL)) after the kill; $FAILED_REQ requests failed (not acknowledged, so nothing promised)"
check "node b kept serving through the balancer ($((TOTAL_ACKED - AT_KILL)) acknowledged after the kill)" \
	test $((TOTAL_ACKED - AT_KILL)) -ge 60
missing=0
differ=0
while read -r id file; do
	code=$(curl -sS --max-time 10 -o "$W/got" -w '%{http_code}' "$PUBLIC/$id/raw")
	if [ "$code" != 200 ]; then
		missing=$((missing + 1))
		[ "$missing" -le 5 ] && echo "  acknowledged $id ($file) answers $code"
	elif ! cmp -s "$file" "$W/got"; then
		differ=$((differ + 1))
		[ "$differ" -le 5 ] && echo "  $id differs from $file"
	fi
done < <(cat "$W"/acked.*)
check_eq "every acknowledged item is there after the kill" 0 "$missing"
check_eq "and byte-identical" 0 "$differ"

# Node a comes back on its port and the balancer uses it again.
start_node a "${NODE_PORT[a]}"
check "the balancer sends requests to node a again" wait_for 15 both_up
first=$(tail -n1 "$W/acked.1")
check_eq "node a serves what was pushed while it was down" 200 "$(code_of "$NA/${first%% *}/raw")"

# --- the end ------------------------------------------------------------------------
for node in a b; do
	stop_node "$node" TERM
	check_eq "node $node: SIGTERM, clean exit" 0 "$RC"
done
stop_haproxy
check "no sanitizer report in the node logs" \
	bash -c '! grep -qE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$@"' _ "${LOGS[@]}"
if [ "$FAILED" -gt 0 ]; then
	for log in "${LOGS[@]}" "$TMP/haproxy.log"; do
		echo "--- $log"
		cat "$log"
	done
fi
finish
