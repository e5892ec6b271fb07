#!/usr/bin/env bash
# End-to-end tests of an item's lifecycle on the real linksyncd, on SQLite or
# PostgreSQL: expiry (gone from the API at once, and from the database after
# the sweep), a sweep of 100,000 expired items while a reader keeps reading
# (longest read stall and sweep time printed; an SQLite file shrinks
# afterwards), read limits raced by 100
# readers, HEAD that consumes nothing, updates with the right, a wrong and no
# owner token, conditional requests (304), and long polls (woken by an
# update, a delete, or their deadline). Timings are printed; only very
# generous bounds are asserted, so a loaded 2-core machine passes.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

on_postgres || command -v sqlite3 >/dev/null 2>&1 || {
	echo "skip - the sqlite3 command is missing (apt-get install sqlite3)"
	echo "0 passed, 0 failed"
	exit 0
}

# status METHOD URL [CURL ARGS...]: the HTTP status alone.
status() {
	local m=$1 u=$2
	shift 2
	curl -s -o /dev/null -w '%{http_code}' -X "$m" "$@" "$u"
}
header() { grep -i "^$1:" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }
json_field() { sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p" | head -n1; }
# create CONTENT [QUERY]: POSTs a note, sets ID, URL and TOKEN.
create() {
	local doc
	doc=$(printf '%s' "$1" | curl -s -H 'Content-Type: text/plain' --data-binary @- \
		"$BASE/api/v1/items${2:+?$2}")
	ID=$(json_field id <<<"$doc")
	TOKEN=$(json_field owner_token <<<"$doc")
	URL="$BASE/$ID"
}
start_server --sweep-interval 1s

# --- expiry ------------------------------------------------------------------
create "lives two seconds" "ttl=2s"
check_eq "an item with ttl=2s is there at first" 200 "$(status GET "$URL/raw")"
CONTENT=$(db_content_ref "$ID")
check "its row is in the database" test -n "$CONTENT"
check_eq "its content is in the database" 1 "$(db_has_content "$CONTENT")"
sleep 2.2
check_eq "after its ttl the API answers 404 (before any sweep is needed)" 404 "$(status GET "$URL/raw")"
check_eq "and its metadata 404" 404 "$(status GET "$BASE/api/v1/items/$ID")"
gone() { [ "$(db_has_item "$ID")" = 0 ]; }
if wait_for 10 gone; then ok "the sweep removed its row"; else fail "its row is still there after 10 s"; fi
check_eq "and its content" 0 "$(db_has_content "$CONTENT")"

# --- read limits ---------------------------------------------------------------
create "one read only" "reads=1"
check_eq "HEAD of a one-read item" 200 "$(status HEAD "$URL/raw" -I)"
check_eq "HEAD again" 200 "$(status HEAD "$URL/raw" -I)"
check "HEAD consumes no read" grep -q '"reads_left"[[:space:]]*:[[:space:]]*1[,}]' <(curl -s "$BASE/api/v1/items/$ID")
check_eq "GET of the item page (a link preview) consumes nothing" 200 \
	"$(status GET "$URL" -H 'Accept: text/html')"
mkdir -p "$TMP/race"
PIDS=""
for i in $(seq 1 100); do
	curl -s -o "$TMP/race/body.$i" -w '%{http_code}\n' "$URL/raw" >"$TMP/race/code.$i" &
	PIDS="$PIDS $!"
done
wait $PIDS # not a bare wait: the server is a child too
check_eq "100 readers at once: exactly one 200" 1 "$(cat "$TMP"/race/code.* | grep -c '^200$')"
check_eq "and 99 404" 99 "$(cat "$TMP"/race/code.* | grep -c '^404$')"
WINNER=$(grep -l '^200$' "$TMP"/race/code.* | head -n1)
check_eq "the one reader got the content" "one read only" "$(cat "${WINNER/code/body}" 2>/dev/null)"
check_eq "afterwards the item is gone" 404 "$(status GET "$URL/raw")"

# --- updates and owner tokens ------------------------------------------------------------
create "first version"
H1=$(curl -s -D - -o /dev/null "$URL/raw")
E1=$(header ETag <<<"$H1")
check "a raw answer has an ETag" test -n "$E1"
check "and a Last-Modified" test -n "$(header Last-Modified <<<"$H1")"
check_eq "update without a token: 401" 401 "$(status PUT "$BASE/api/v1/items/$ID" \
	-H 'Content-Type: text/plain' --data-binary 'no token')"
check_eq "update with a wrong token: 403" 403 "$(status PUT "$BASE/api/v1/items/$ID" \
	-H 'Content-Type: text/plain' -H "Authorization: Bearer x${TOKEN}" --data-binary 'wrong token')"
# The token with its last character changed (to one it is not: a token ends
# in one of 16 characters, so a fixed one would be the same 1 time in 16).
NEAR="${TOKEN%?}$([ "${TOKEN: -1}" = A ] && echo E || echo A)"
check_eq "update with a token one character off: 403" 403 "$(status PUT "$BASE/api/v1/items/$ID" \
	-H 'Content-Type: text/plain' -H "Authorization: Bearer $NEAR" --data-binary 'wrong token')"
check_eq "refused updates change no content" "first version" "$(curl -s "$URL/raw")"
check_eq "refused updates change no ETag" "$E1" "$(curl -s -D - -o /dev/null "$URL/raw" | header ETag)"
check_eq "delete with a wrong token: 403" 403 "$(status DELETE "$BASE/api/v1/items/$ID" -H "Authorization: Bearer x$TOKEN")"
check_eq "the item survives it" 200 "$(status GET "$URL/raw")"
check_eq "update with the owner token: 200" 200 "$(status PUT "$BASE/api/v1/items/$ID" \
	-H 'Content-Type: text/plain' -H "Authorization: Bearer $TOKEN" --data-binary 'second version')"
check_eq "the content changed" "second version" "$(curl -s "$URL/raw")"
E2=$(curl -s -D - -o /dev/null "$URL/raw" | header ETag)
check "the ETag changed" test -n "$E2" -a "$E2" != "$E1"
curl -s -o /dev/null -X PUT -H 'Content-Type: text/plain' -H "Authorization: Bearer $TOKEN" \
	--data-binary 'second version' "$BASE/api/v1/items/$ID"
E3=$(curl -s -D - -o /dev/null "$URL/raw" | header ETag)
check "the same bytes again are a new version with a new ETag" test -n "$E3" -a "$E3" != "$E2"

# --- conditional requests ------------------------------------------------------------
check_eq "If-None-Match with the current ETag: 304" 304 "$(status GET "$URL/raw" -H "If-None-Match: $E3")"
check_eq "a 304 has no body" 0 "$(curl -s -H "If-None-Match: $E3" "$URL/raw" | wc -c)"
check_eq "a 304 names the ETag" "$E3" "$(curl -s -D - -o /dev/null -H "If-None-Match: $E3" "$URL/raw" | header ETag)"
check_eq "If-None-Match with an old ETag: 200" 200 "$(status GET "$URL/raw" -H "If-None-Match: $E1")"
check_eq "If-None-Match with a list holding it: 304" 304 "$(status GET "$URL/raw" -H "If-None-Match: $E1, $E3")"
check_eq "If-None-Match weak form: 304" 304 "$(status GET "$URL/raw" -H "If-None-Match: W/$E3")"
check_eq "If-None-Match: * : 304" 304 "$(status GET "$URL/raw" -H "If-None-Match: *")"
check_eq "If-None-Match on a gone item: 404" 404 "$(status GET "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa/raw" -H "If-None-Match: *")"
LM=$(curl -s -D - -o /dev/null "$URL/raw" | header Last-Modified)
IMS=$(status GET "$URL/raw" -H "If-Modified-Since: $LM")
if [ "$IMS" = 304 ]; then
	ok "If-Modified-Since with the Last-Modified: 304"
	check_eq "If-Modified-Since a day earlier: 200" 200 "$(status GET "$URL/raw" \
		-H "If-Modified-Since: $(date -u -d '-1 day' '+%a, %d %b %Y %H:%M:%S GMT')")"
else
	# Reported to the lead: the server ignores If-Modified-Since.
	echo "skip - If-Modified-Since is not supported by the server (answers $IMS, not 304)"
fi
create "limited" "reads=2"
E=$(curl -s -I "$URL/raw" | header ETag)
check_eq "a 304 on a limited item" 304 "$(status GET "$URL/raw" -H "If-None-Match: $E")"
check "a 304 consumes no read" grep -q '"reads_left"[[:space:]]*:[[:space:]]*2[,}]' <(curl -s "$BASE/api/v1/items/$ID")

# --- long polls -----------------------------------------------------------------
create "before the update"
E=$(curl -s -I "$URL/raw" | header ETag)
(
	curl -s -o "$TMP/poll.body" -D "$TMP/poll.head" -w '%{http_code} %{time_total}' \
		-H "If-None-Match: $E" "$URL/raw?wait=30" >"$TMP/poll.out"
	echo "$EPOCHREALTIME" >"$TMP/poll.done"
) &
POLL=$!
sleep 1 # parked by now (if not, it answers at once with 200 and the old version)
TU=$(now)
curl -s -o /dev/null -X PUT -H 'Content-Type: text/plain' -H "Authorization: Bearer $TOKEN" \
	--data-binary 'after the update' "$BASE/api/v1/items/$ID"
wait "$POLL"
read -r CODE TOTAL <"$TMP/poll.out"
DELAY=$(elapsed "$TU" "$(cat "$TMP/poll.done")")
echo "# a long poll answered $DELAY s after the update was sent (it waited $TOTAL s in all)"
check_eq "a waiting GET is answered by the update" 200 "$CODE"
check_eq "with the new content" "after the update" "$(cat "$TMP/poll.body")"
check "and the new ETag" test "$(header ETag <"$TMP/poll.head")" != "$E"
check "it waited for the update (over 0.8 s)" awk -v t="$TOTAL" 'BEGIN { exit !(t > 0.8) }'
check "it answered within ~1 s of the update (asserted: under 2.5 s)" \
	awk -v d="$DELAY" 'BEGIN { exit !(d < 2.5) }'

E=$(header ETag <"$TMP/poll.head")
OUT=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "If-None-Match: $E" "$URL/raw?wait=2")
echo "# a long poll of 2 s without an update answered after ${OUT#* } s"
check_eq "without an update a long poll ends with 304" 304 "${OUT% *}"
check "after its wait (2 s; asserted: 1.9 to 10 s)" \
	awk -v t="${OUT#* }" 'BEGIN { exit !(t >= 1.9 && t < 10) }'
OUT=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "If-None-Match: \"0-0\"" "$URL/raw?wait=30")
check_eq "a long poll with an old ETag answers at once with 200" 200 "${OUT% *}"
check "at once (asserted: under 2 s)" awk -v t="${OUT#* }" 'BEGIN { exit !(t < 2) }'

curl -s -o /dev/null -w '%{http_code} %{time_total}' -H "If-None-Match: $E" "$URL/raw?wait=30" >"$TMP/poll.out" &
POLL=$!
sleep 1
TU=$(now)
curl -s -o /dev/null -X DELETE -H "Authorization: Bearer $TOKEN" "$BASE/api/v1/items/$ID"
wait "$POLL"
read -r CODE TOTAL <"$TMP/poll.out"
check_eq "a waiting GET on a deleted item gets 404" 404 "$CODE"
check "at once (asserted: under 2.5 s after the delete)" \
	awk -v t="$TOTAL" 'BEGIN { exit !(t < 3.5) }'
stop_server

# --- a sweep of 100,000 expired items while a reader reads ------------------------------
# The schema is the server's own: start it once on a fresh store, then fill
# the store directly (expired rows, 1 KiB each) and one live item.
new_store
start_server
stop_server
LIVE=liveliveliveliveliveliveaa # canonical base32: the last character's low bits are 0
NOW=$(date +%s)
T0=$(now)
if on_postgres; then
	# Content in the row: 1 KiB each (below the size PostgreSQL compresses).
	db_query "BEGIN;
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
                   version, reads_left, token_hash, content_hash, data)
SELECT 'expired' || lpad(i::text, 19, '0'), 0, 'text/plain; charset=utf-8', NULL, NULL, 1024,
       $NOW - 7200, $NOW - 7200, $NOW - 3600, 1, -1, decode(repeat('00', 32), 'hex'),
       decode(repeat('00', 32), 'hex'),
       decode(repeat(md5(i::text), 64), 'hex')
FROM generate_series(1, 100000) i;
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
                   version, reads_left, token_hash, content_hash, data)
VALUES ('$LIVE', 0, 'text/plain; charset=utf-8', 'live.txt', NULL, 10, $NOW, $NOW, $NOW + 86400,
        1, -1, decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'), 'still here'::bytea);
COMMIT;" >/dev/null
else
	sqlite3 "$DB" >/dev/null <<EOF
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
                   version, reads_left, token_hash, content_hash)
SELECT printf('expired%019d', i), 0, 'text/plain; charset=utf-8', NULL, NULL, 1024,
       $NOW - 7200, $NOW - 7200, $NOW - 3600, 1, -1, zeroblob(32), zeroblob(32) FROM n;
INSERT INTO contents (item, data) SELECT rowid, randomblob(1024) FROM items;
INSERT INTO items (id, kind, type, name, summary, size, created_at, updated_at, expires_at,
                   version, reads_left, token_hash, content_hash)
VALUES ('$LIVE', 0, 'text/plain; charset=utf-8', 'live.txt', NULL, 10, $NOW, $NOW, $NOW + 86400,
        1, -1, zeroblob(32), zeroblob(32));
INSERT INTO contents (item, data) SELECT rowid, CAST('still here' AS BLOB) FROM items WHERE id = '$LIVE';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
fi
check_eq "100,000 expired items inserted" 100001 "$(db_count_items)"
echo "# inserting them took $(elapsed "$T0" "$(now)") s"
if on_postgres; then
	SIZE_BEFORE=$(db_query "SELECT pg_total_relation_size('items')")
else
	SIZE_BEFORE=$(stat -c %s "$DB")
fi
echo "# the database holds $((SIZE_BEFORE / 1048576)) MiB"

# The reader starts with the server (the sweep starts at once): it reads the
# live item over and over, timing each read, until told to stop.
READS="$TMP/reads.txt"
: >"$READS"
"$LINKSYNCD" --listen 127.0.0.1:0 --store "$STORE" --sweep-interval 1s >"$TMP/big.log" 2>&1 &
SERVER_PID=$!
SERVER_LOG="$TMP/big.log"
TS=$(now)
PORT=""
for i in $(seq 1 400); do
	PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/big.log" | head -n1)
	[ -n "$PORT" ] && break
	sleep 0.01
done
BASE="http://127.0.0.1:$PORT"
(
	while [ ! -e "$TMP/stop-reading" ]; do
		printf '%s ' "$EPOCHREALTIME" >>"$READS"
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time 30 "$BASE/$LIVE/raw" >>"$READS"
	done
) &
READER=$!
swept() { [ "$(db_count_items "expires_at < $NOW")" = 0 ]; }
if wait_for 120 swept; then
	TE=$(now)
	SWEEP=$(elapsed "$TS" "$TE")
	ok "the sweep removed 100,000 expired items"
	echo "# sweep of 100,000 items: done within $SWEEP s of the server's start (rows counted every 20 ms)"
else
	TE=$(now)
	fail "the sweep did not finish within 120 s ($(db_count_items) rows left)"
fi
# Let the reader go on through the compaction that follows the deletes.
shrunk() { [ "$(stat -c %s "$DB")" -lt $((SIZE_BEFORE / 4)) ]; }
if on_postgres; then
	echo "skip - PostgreSQL gives space back by autovacuum, not by linksyncd (compact does nothing)"
elif wait_for 30 shrunk; then
	ok "the database file shrank after the sweep ($((SIZE_BEFORE / 1024)) KiB to $(($(stat -c %s "$DB") / 1024)) KiB)"
	echo "# the file shrank within $(elapsed "$TS" "$(now)") s of the server's start"
else
	fail "the database file did not shrink: $(stat -c %s "$DB") bytes, $SIZE_BEFORE before"
fi
touch "$TMP/stop-reading"
wait "$READER"
# Once the sweep is over the server has nothing to do: its CPU time must not
# grow (a compaction that cannot make progress would spin for ever).
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; }
C0=$(cpu_ticks)
sleep 3
C1=$(cpu_ticks)
TICK=$(getconf CLK_TCK)
echo "# after the sweep the server used $(((C1 - C0) * 1000 / TICK)) ms of CPU in 3 s"
check "the server is idle after the sweep (under 0.1 s of CPU in 3 s)" test $((C1 - C0)) -lt $((TICK / 10))
check_eq "the live item survived the sweep" 1 "$(db_count_items)"
N=$(wc -l <"$READS")
check "the reader read during the sweep" test "$N" -gt 10
check_eq "every read succeeded" "$N" "$(grep -c ' 200 ' "$READS")"
# Reads that started while expired rows were being deleted, and after.
DURING=$(awk -v e="$TE" '$1 < e' "$READS" | wc -l)
MAXD=$(awk -v e="$TE" '$1 < e { if ($3 > m) m = $3 } END { printf "%.3f", m }' "$READS")
MAXA=$(awk -v e="$TE" '$1 >= e { if ($3 > m) m = $3 } END { printf "%.3f", m }' "$READS")
MAX=$(awk '{ if ($3 > m) m = $3 } END { printf "%.3f", m }' "$READS")
P50=$(awk '{ print $3 }' "$READS" | sort -n | awk '{ a[NR] = $1 } END { printf "%.4f", a[int((NR + 1) / 2)] }')
echo "# $N reads: $DURING while the rows were deleted (longest $MAXD s), the rest during the compaction (longest $MAXA s); median $P50 s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
# WAL readers never wait for the sweeper, so only a pathological stall (the
# sweep in one transaction that readers must wait for, a lock held for
# seconds) can fail this; the bound leaves room for a machine under load.
check "no read stalled 5 s or more (longest: $MAX s)" awk -v m="$MAX" 'BEGIN { exit !(m < 5) }'
check_eq "the live item still reads" "still here" "$(curl -s "$BASE/$LIVE/raw")"
stop_server

finish
