#!/usr/bin/env bash
# End-to-end tests of the limit on wrong read proofs of encrypted items
# (docs/e2e.md §6): ten wrong proofs get 403 and the next ones 429 with
# Retry-After; while limited even the right key waits; other items are not
# affected; 40 wrong proofs at once over 40 connections get exactly ten 403s
# however the server's threads interleave; right keys at once are never
# refused for each other. The window is one for all items and opens at the
# first proof checked: this server checks none before, and everything below
# takes well under its minute.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LS="$LINKSYNC"
WRONGP='X-Linksync-Read: VmRFzNEWKo1Lp0smTos93w2dw_RFC_hE_6sj4xxRMg0'
status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
# id_of LINK: the item's id.
id_of() {
	local u=${1%%#*}
	echo "${u##*/}"
}
# pulls_at_once N LINK: N pulls of LINK at the same time; succeeds when all do.
pulls_at_once() {
	local n=$1 link=$2 i r=0
	for i in $(seq 1 "$n"); do "$LS" pull "$link" >/dev/null 2>"$TMP/pull.$i" & done
	for i in $(seq 1 "$n"); do wait -n || r=1; done
	return $r
}

# More threads than cores, so that the bursts below race inside the server.
start_server --threads 8
W="$TMP/work"
mkdir -p "$W"
cd "$W" || exit 1
unset LINKSYNC_PASSWORD
printf 'something worth guessing at\n' >pw.txt

expect_exit "push --encrypt (an item nobody guesses at)" 0 "$LS" push --encrypt pw.txt
LINK=$(cat "$OUT")
expect_exit "push --password (to guess at)" 0 env LINKSYNC_PASSWORD='correct horse' "$LS" push --password pw.txt
LLINK=$(cat "$OUT")
LID=$(id_of "$LLINK")

# --- one wrong proof after another ---------------------------------------------
codes=""
for i in $(seq 1 11); do
	codes="$codes $(status_of -H "$WRONGP" "$BASE/$LID/raw")"
done
check_eq "10 wrong proofs get 403, the 11th 429" " 403 403 403 403 403 403 403 403 403 403 429" "$codes"
curl -s -D "$TMP/h429" -o "$TMP/b429" -H "$WRONGP" "$BASE/$LID/raw"
grep_ok "429 says rate_limited" rate_limited "$TMP/b429"
RA=$(sed -n 's/^Retry-After: \([0-9]*\).*/\1/p' "$TMP/h429")
check "429 says when to retry, within the minute (Retry-After: $RA)" test -n "$RA" -a "${RA:-0}" -ge 1 -a "${RA:-99}" -le 60
expect_exit "while limited, even the right password waits" 5 \
	env LINKSYNC_PASSWORD='correct horse' "$LS" pull "$LLINK"
grep_ok "the limit says to wait" "try again in" "$ERR"
expect_exit "another item is not limited" 0 "$LS" pull "$LINK"

# --- wrong proofs at once ------------------------------------------------------
# A check before the comparison and a count after it let through every proof
# that arrived before the first count: the limiter reserves each check first.
expect_exit "push --encrypt (to guess at, at once)" 0 "$LS" push --encrypt pw.txt
BLINK=$(cat "$OUT")
BID=$(id_of "$BLINK")
burst=()
for i in $(seq 1 40); do burst+=(-o /dev/null "$BASE/$BID/raw"); done
curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max 40 -H "$WRONGP" -w '%{http_code}\n' \
	"${burst[@]}" >"$TMP/burst"
check_eq "40 wrong proofs at once: 10 get 403" 10 "$(grep -c '^403$' "$TMP/burst")"
check_eq "40 wrong proofs at once: 30 get 429" 30 "$(grep -c '^429$' "$TMP/burst")"
expect_exit "then the right key waits too" 5 "$LS" pull "$BLINK"

# --- right keys at once --------------------------------------------------------
# An item with one wrong proof left: right keys checked at the same time each
# hold that last check for a moment, and must wait for each other, not fail.
expect_exit "push --encrypt (one wrong proof from its limit)" 0 "$LS" push --encrypt pw.txt
CLINK=$(cat "$OUT")
CID=$(id_of "$CLINK")
codes=""
for i in $(seq 1 9); do
	codes="$codes $(status_of -H "$WRONGP" "$BASE/$CID/raw")"
done
check_eq "9 wrong proofs get 403" " 403 403 403 403 403 403 403 403 403" "$codes"
check "12 pulls at once with the right key all succeed" pulls_at_once 12 "$CLINK"
check_eq "the last wrong proof is still there: 403" 403 "$(status_of -H "$WRONGP" "$BASE/$CID/raw")"
check_eq "then 429" 429 "$(status_of -H "$WRONGP" "$BASE/$CID/raw")"

finish
