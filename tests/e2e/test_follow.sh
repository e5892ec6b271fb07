#!/usr/bin/env bash
# End-to-end tests of live links in the command-line client against the real
# linksyncd: `pull --follow` sees successive updates in order (the file equal
# to each version in turn, one stderr line per version) and survives a server
# restart; `push --watch` pushes the three ways editors save (in place,
# truncate and write, temporary file renamed over) and skips saves that
# change nothing; Ctrl-C ends both with exit 130 and no temporary file; the
# end of the item ends both (follow: 0, watch: 4). Waits are polls with
# generous timeouts; measured delays are printed, never asserted tightly.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LS="$LINKSYNC"
W="$TMP/work"
mkdir -p "$W"
cd "$W" || exit 1

same() { cmp -s "$1" "$2" 2>/dev/null; }
raw_is() { [ "$(curl -s "$1/raw")" = "$2" ]; }
# stop_bg PID: sends SIGINT (Ctrl-C), waits up to 5 s, and sets RC to the
# exit code (not in a subshell: only this shell can wait for its children).
stop_bg() {
	kill -INT "$1" 2>/dev/null
	wait_for 5 exited "$1" || kill -KILL "$1" 2>/dev/null
	wait "$1"
	RC=$?
}
exited() { ! kill -0 "$1" 2>/dev/null; }
no_temp_files() { [ -z "$(ls -A "$1" | grep '^\.')" ]; }

start_server

# --- usage ---------------------------------------------------------------
"$LS" pull --follow "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa" >/dev/null 2>err
check_eq "--follow without -o is a usage error" 2 $?
check "the refusal says why" grep -q -- "--follow needs -o FILE or -O" err
"$LS" pull --follow -o - "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa" >/dev/null 2>&1
check_eq "--follow -o - is a usage error" 2 $?
"$LS" pull --follow -o x "http://127.0.0.1:1/not/a/linksync/link" >/dev/null 2>&1
check_eq "--follow of a link that is not linksync's is a usage error" 2 $?
"$LS" pull --follow -o x "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa" >/dev/null 2>&1
check_eq "--follow of an unknown item exits 4 at once" 4 $?
check "and creates no file" test ! -e x
echo hi | "$LS" push --watch - >/dev/null 2>&1
check_eq "push --watch - is a usage error" 2 $?

# --- pull --follow sees three updates in order --------------------------------
printf 'version 1\n' >v1.txt
URL=$("$LS" push v1.txt)
mkdir -p follow
"$LS" pull "$URL" -o follow/F --follow 2>follow.err &
FPID=$!
check "follow writes the first version" wait_for 10 same v1.txt follow/F
ETAGS=""
for i in 2 3 4; do
	printf 'version %s\nline two of %s\n' "$i" "$i" >"v$i.txt"
	T0=$(now)
	"$LS" update --json "$URL" "v$i.txt" >update.json 2>update.err
	check_eq "update to version $i" 0 $?
	ETAGS="$ETAGS $(sed -n 's/.*"etag"[[:space:]]*:[[:space:]]*"\(\\"[^\\]*\\"\)".*/\1/p' update.json | tr -d '\\')"
	if wait_for 10 same "v$i.txt" follow/F; then
		ok "follow's file equals version $i (after $(elapsed "$T0" "$(now)") s)"
	else
		fail "follow's file is not version $i: $(head -c 100 follow/F)"
	fi
done
check "the follower is still running" kill -0 "$FPID"
check_eq "one stderr line per version" 4 "$(grep -c '^linksync: wrote follow/F' follow.err)"
SEEN=$(sed -n 's/.*ETag \("[^"]*"\)).*/\1/p' follow.err | tail -n 3 | tr '\n' ' ' | sed 's/ $//')
check_eq "the versions seen are the updates, in order" "${ETAGS# }" "$SEEN"
check "the versions seen carry version numbers 1 to 4" \
	test "$(sed -n 's/.*ETag "\([0-9]*\)-.*/\1/p' follow.err | tr '\n' ' ')" = "1 2 3 4 "
stop_bg "$FPID"
check_eq "Ctrl-C ends follow with exit 130" 130 "$RC"
check "follow leaves no temporary file" no_temp_files follow
check "the file keeps the last version" same v4.txt follow/F

# --- push --watch: three ways to save ------------------------------------------
mkdir -p edit
printf 'first\n' >edit/w.txt
"$LS" push --watch edit/w.txt >watch.url 2>watch.err &
WPID=$!
check "push --watch prints the link at once" wait_for 10 test -s watch.url
WURL=$(cat watch.url)
WID=${WURL##*/}
check "the first version is there" raw_is "$WURL" "first"
mkdir -p sync
"$LS" pull "$WURL" -o sync/copy --follow 2>sync.err &
SPID=$!
check "a follower of the watched link starts with the first version" wait_for 10 same edit/w.txt sync/copy

# watched_version N: waits until the link holds edit/w.txt's content, and
# reports the delay from the edit (T0).
watched_version() {
	local want
	want=$(cat edit/w.txt)
	if wait_for 3 raw_is "$WURL" "$want"; then
		ok "$1 is at the link within 3 s (after $(elapsed "$T0" "$(now)") s)"
	else
		fail "$1 is not at the link after 3 s: '$(curl -s "$WURL/raw" | head -c 100)'"
	fi
	if wait_for 5 same edit/w.txt sync/copy; then
		ok "$1 reaches the follower"
	else
		fail "$1 does not reach the follower"
	fi
}
T0=$(now)
echo "appended" >>edit/w.txt
watched_version "an in-place append (echo >>)"
T0=$(now)
printf 'truncated and rewritten\n' >edit/w.txt
watched_version "a truncate and write (>)"
T0=$(now)
printf 'written to a temporary file\nand renamed over\n' >edit/.w.txt.tmp
mv edit/.w.txt.tmp edit/w.txt
watched_version "a temporary file renamed over (mv)"
check_eq "one stderr line per pushed version" 3 "$(grep -c '^linksync: pushed edit/w.txt as version' watch.err)"
check "the lines count the versions" grep -q 'pushed edit/w.txt as version 4 ' watch.err

# Saving without a change pushes nothing.
cp edit/w.txt edit/.same.tmp
mv edit/.same.tmp edit/w.txt
touch edit/w.txt
sleep 1.5
check_eq "a save without a change pushes nothing" 3 "$(grep -c '^linksync: pushed' watch.err)"
check "the version is still 4" grep -q '"version"[[:space:]]*:[[:space:]]*4[,}]' <(curl -s "$BASE/api/v1/items/$WID")
# Another file in the directory is not the watched one.
echo other >edit/other.txt
sleep 0.5
check_eq "another file's change pushes nothing" 3 "$(grep -c '^linksync: pushed' watch.err)"

stop_bg "$WPID"
check_eq "Ctrl-C ends push --watch with exit 130" 130 "$RC"
stop_bg "$SPID"
check_eq "Ctrl-C ends the follower with exit 130" 130 "$RC"
check "the watched directory holds no temporary file" no_temp_files edit
check "the follower's directory holds no temporary file" no_temp_files sync
check_eq "the token was saved for the watched item" 1 "$(grep -c "\"id\":\"$WID\"" "$XDG_STATE_HOME/linksync/tokens.jsonl")"

# --- the end of the item ends both -------------------------------------------------
printf 'short lived\n' >edit/end.txt
"$LS" push --watch edit/end.txt >end.url 2>end.err &
EPID=$!
wait_for 10 test -s end.url
EURL=$(cat end.url)
"$LS" pull "$EURL" -O --follow >end.name 2>endf.err &
OPID=$!
check "follow -O writes the first version under the server's name" wait_for 10 same edit/end.txt end.txt
check_eq "follow -O prints the name" "end.txt" "$(head -n1 end.name)"
"$LS" delete "$EURL" 2>/dev/null
check_eq "delete the followed item" 0 $?
if wait_for 5 exited "$OPID"; then
	wait "$OPID"
	check_eq "follow ends with exit 0 when the item ends after a version" 0 $?
	check "follow says the item ended" grep -q "has ended" endf.err
else
	fail "follow did not end within 5 s of the delete"
	kill -INT "$OPID"
fi
# The watch learns of the end at its next push.
echo "after the end" >>edit/end.txt
if wait_for 10 exited "$EPID"; then
	wait "$EPID"
	check_eq "push --watch exits 4 when the item was deleted" 4 $?
	check "and says the link ended" grep -q "has ended (expired, used up or deleted): stopped watching" end.err
else
	fail "push --watch did not end within 10 s of a push to a deleted item"
	kill -INT "$EPID"
fi

# Expiry without any edit: the watch notices by itself.
printf 'two seconds\n' >edit/ttl.txt
T0=$(now)
"$LS" push --watch --ttl 2s edit/ttl.txt >ttl.url 2>ttl.err &
TPID=$!
if wait_for 15 exited "$TPID"; then
	wait "$TPID"
	check_eq "push --watch of an item that expires exits 4 on its own" 4 $?
	echo "# the watch noticed the expiry $(elapsed "$T0" "$(now)") s after the push (ttl 2 s)"
else
	fail "push --watch --ttl 2s still runs after 15 s"
	kill -INT "$TPID"
fi

# --- follow survives a server restart ------------------------------------------------
printf 'before the restart\n' >r1.txt
RURL=$("$LS" push r1.txt)
"$LS" pull "$RURL" -o restart.out --follow 2>restart.err &
RPID=$!
wait_for 10 same r1.txt restart.out
stop_server
sleep 1.5
"$LINKSYNCD" --listen "127.0.0.1:$PORT" --store "$STORE" >"$TMP/server2.log" 2>&1 &
SERVER_PID=$!
SERVER_LOG="$TMP/server2.log"
check "the server restarts on the same port" wait_for 10 curl -fs -o /dev/null "$BASE/healthz"
printf 'after the restart\n' >r2.txt
"$LS" update "$RURL" r2.txt
check_eq "update after the restart" 0 $?
# Back-off is at most 30 s; the outage was a few seconds, so the next try
# comes within a few seconds more.
check "the follower gets the version pushed after the restart" wait_for 40 same r2.txt restart.out
check "it said once that the connection was lost" test "$(grep -c 'retrying' restart.err)" = 1
check "and that the server answers again" grep -q "answers again" restart.err
stop_bg "$RPID"
check_eq "Ctrl-C still ends it with 130" 130 "$RC"

finish
