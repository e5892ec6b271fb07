#!/usr/bin/env bash
# End-to-end durability tests of linksyncd, on SQLite or PostgreSQL:
# concurrent pushers record every id the server acknowledged with 201, the
# server is killed with SIGKILL in the middle of the load (twice), restarted
# on the same store, and every acknowledged item must be there with
# byte-identical content; no item may be half-written, and an SQLite file must
# pass its integrity check. Then expiry: an item with ttl=2s is a 404 after
# 3 s, and the sweeper (every second) removes expired rows and their content
# from the store even when nobody asks for them.
# shellcheck source=lib.sh disable=SC2016,SC2317 # single-quoted bash -c scripts; helpers run via check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LOGS=()
W="$TMP/work"
PUSHERS=4
ROUNDS=2
mkdir -p "$W"

start() {
	start_server --public-url http://lks.test --sweep-interval 1s
	LOGS+=("$SERVER_LOG")
}

# A sanitizer report or a crash message in any server log so far.
logs_clean() {
	! grep -qE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "${LOGS[@]}"
}

# pusher N ROUND: pushes items until $W/stop.ROUND exists; for every 201
# appends "ID FILE" to $W/acked.ROUND.N (FILE holds the exact bytes sent).
pusher() {
	local n=$1 round=$2 i=0 f out code url
	mkdir -p "$W/p$round.$n"
	: >"$W/acked.$round.$n"
	while [ ! -e "$W/stop.$round" ]; do
		i=$((i + 1))
		f="$W/p$round.$n/$i.dat"
		case $((i % 4)) in
		0) head -c $((RANDOM * 4 + 1)) /dev/urandom >"$f" ;; # up to 128 KiB of binary
		1) : >"$f" ;;                                           # empty
		*) printf 'pusher %s round %s item %s %s\n' "$n" "$round" "$i" "$RANDOM$RANDOM" >"$f" ;;
		esac
		# Only a complete answer (curl exits 0) with 201 and a URL counts.
		if out=$(curl -sS --max-time 10 -H 'Accept: text/plain' \
			-H 'Content-Type: application/octet-stream' --data-binary @"$f" \
			-w '\n%{http_code}' "$BASE/api/v1/items?ttl=1h" 2>/dev/null); then
			code=${out##*$'\n'}
			url=${out%%$'\n'*}
			if [ "$code" = 201 ] && [[ $url =~ ^http://lks\.test/([a-z2-7]{26})$ ]]; then
				echo "${BASH_REMATCH[1]} $f" >>"$W/acked.$round.$n"
			fi
		else
			sleep 0.05 # the server is down: do not spin
		fi
	done
}

# acked ROUND: how many ids were acknowledged so far in a round.
acked() {
	cat "$W"/acked."$1".* 2>/dev/null | wc -l
}

start
echo "# server on $BASE ($LINKSYNCD)"

# --- kill -9 under load, twice -----------------------------------------------
for round in $(seq 1 "$ROUNDS"); do
	pids=()
	for n in $(seq 1 "$PUSHERS"); do
		pusher "$n" "$round" &
		pids+=($!)
	done
	# Let the load build up: at least 40 acknowledged items (or 20 s).
	for _ in $(seq 1 200); do
		[ "$(acked "$round")" -ge 40 ] && break
		sleep 0.1
	done
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null
	SERVER_PID=""
	sleep 0.3 # let the pushers see the server gone
	touch "$W/stop.$round"
	wait "${pids[@]}"
	n_acked=$(acked "$round")
	check "round $round: load before the kill ($n_acked acknowledged)" test "$n_acked" -ge 40

	# The restarted server recovers the store itself (the sqlite3 shell looks
	# only once the server has it open, so it cannot do the recovery for it).
	start
	if on_postgres; then
		echo "skip - round $round: no integrity_check on PostgreSQL (its own WAL recovery is not ours to test)"
	else
		check "round $round: database passes integrity_check after kill -9" \
			test "$(db_query 'PRAGMA integrity_check')" = ok
	fi
	check_eq "round $round: no half-written item (every item has all its bytes)" 0 \
		"$(db_broken_items)"
	missing=0
	differ=0
	while read -r id file; do
		code=$(curl -sS --max-time 10 -o "$W/got" -w '%{http_code}' "$BASE/$id/raw")
		if [ "$code" != 200 ]; then
			missing=$((missing + 1))
			[ "$missing" -le 5 ] && echo "  round $round: acknowledged $id ($file) answers $code"
		elif ! cmp -s "$file" "$W/got"; then
			differ=$((differ + 1))
			[ "$differ" -le 5 ] && echo "  round $round: $id differs from $file"
		fi
	done < <(cat "$W"/acked."$round".*)
	check_eq "round $round: every acknowledged item survived kill -9" 0 "$missing"
	check_eq "round $round: every acknowledged item is byte-identical" 0 "$differ"
done
# Items of the first round are still there after the second crash.
first=$(head -n1 "$W/acked.1.1")
check_eq "round 1 items survive round 2" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/${first%% *}/raw")"
check_eq "every item has its content, and no content is left without its item" 0 \
	"$(db_broken_items)"

# --- Expiry and the sweeper --------------------------------------------------
# before DEADLINE DESCRIPTION EXPECTED ACTUAL: check_eq, when we asked before
# DEADLINE (Unix seconds: when a short-lived item may expire); a machine too
# slow to ask in time proves nothing and the check is noted, not failed.
before() {
	local deadline=$1
	shift
	if [ "$2" = "$3" ] || [ "$(date +%s)" -lt "$deadline" ]; then
		check_eq "$@"
	else
		ok "$1: not checked: this machine was too slow to ask before the item expired"
	fi
}
post_ttl() { # TTL CONTENT: prints the new id
	curl -sS --max-time 10 -H 'Accept: text/plain' -H 'Content-Type: text/plain' \
		--data-binary "$2" "$BASE/api/v1/items?ttl=$1" | tr -d '\n' | sed 's#.*/##'
}
rows_of() {
	db_has_item "$1"
}
deadline=$(($(date +%s) + 2))
SHORT=$(post_ttl 2s 'short-lived')
QUIET=$(post_ttl 2s 'nobody asks for me')
LONG=$(post_ttl 1h 'long-lived')
before "$deadline" "ttl=2s: served at first" short-lived "$(curl -sS "$BASE/$SHORT/raw")"
before "$deadline" "ttl=2s: stored" 1 "$(rows_of "$QUIET")"
sleep 3
for path in "$SHORT/raw" "$SHORT" "api/v1/items/$SHORT" "$SHORT/qr.svg"; do
	check_eq "ttl=2s: /$path is 404 after 3 s" 404 "$(curl -sS -o "$W/exp" -w '%{http_code}' "$BASE/$path")"
done
check "ttl=2s: same 404 body as an unknown id" \
	cmp -s "$W/exp" <(curl -sS "$BASE/api/v1/items/aaaaaaaaaaaaaaaaaaaaaaaaaa")
check_eq "ttl=2s: the page is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -H 'Accept: text/html' "$BASE/$SHORT")"
check_eq "ttl=2s: owner delete is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE \
	-H 'Authorization: Bearer x' "$BASE/api/v1/items/$SHORT")"
# The sweeper runs every second: within a few seconds both rows are gone,
# also the one nobody asked for.
for _ in $(seq 1 50); do
	[ "$(rows_of "$SHORT")$(rows_of "$QUIET")" = 00 ] && break
	sleep 0.1
done
check_eq "sweeper: expired item purged from the database" 0 "$(rows_of "$SHORT")"
check_eq "sweeper: expired item nobody asked for purged" 0 "$(rows_of "$QUIET")"
check_eq "sweeper: a live item stays" 1 "$(rows_of "$LONG")"
check_eq "sweeper: contents follow items" 0 "$(db_broken_items)"
check_eq "sweeper: no expired rows left" 0 "$(db_count_items "expires_at <= $(date +%s)")"

# An item that expires while the server is down is gone after the restart.
deadline=$(($(date +%s) + 2))
DOWN=$(post_ttl 2s 'expires while down')
before "$deadline" "ttl=2s before a restart: served" 'expires while down' "$(curl -sS "$BASE/$DOWN/raw")"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check_eq "SIGTERM: clean exit" 0 "$?"
SERVER_PID=""
sleep 2.5
start
check_eq "expired while down: 404 after the restart" 404 \
	"$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$DOWN/raw")"
for _ in $(seq 1 50); do
	[ "$(rows_of "$DOWN")" = 0 ] && break
	sleep 0.1
done
check_eq "expired while down: swept after the restart" 0 "$(rows_of "$DOWN")"
check_eq "the live item survived the restart" long-lived "$(curl -sS "$BASE/$LONG/raw")"

check "server still running before the final stop" kill -0 "$SERVER_PID"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check_eq "SIGTERM: clean exit" 0 "$?"
SERVER_PID=""
check "no sanitizer report in the server logs" logs_clean
if [ "$FAILED" -gt 0 ]; then
	for log in "${LOGS[@]}"; do
		echo "--- $log"
		cat "$log"
	done
fi
finish
