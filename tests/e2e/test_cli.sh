#!/usr/bin/env bash
# End-to-end tests of the linksync command-line client against the real
# linksyncd: push and pull byte for byte (text, empty, 10 MiB binary, stdin),
# -o and -O (with a hostile server-side name), the owner-token file, --json,
# qr and scan, update and delete, and the documented exit codes.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LS="$LINKSYNC"
ID_RE='[a-z2-7]\{26\}'

mode_of() { stat -c %a "$1" 2>/dev/null; }

start_server
W="$TMP/work"
mkdir -p "$W"
cd "$W" || exit 1

# --- help, version, usage -------------------------------------------------
expect_exit "--help" 0 "$LS" --help
grep_ok "--help lists the exit codes" "no QR code found" "$OUT"
grep_ok "--help lists the commands" "linksync pull" "$OUT"
expect_exit "push --help" 0 "$LS" push --help
grep_ok "push --help tells about --ttl" "--ttl" "$OUT"
expect_exit "--version" 0 "$LS" --version
grep_ok "--version names the version" "^linksync [0-9]" "$OUT"
expect_exit "no command" 2 "$LS"
expect_exit "unknown command" 2 "$LS" frobnicate
expect_exit "unknown option" 2 "$LS" push --bogus x
expect_exit "push without a file" 2 "$LS" push
expect_exit "push with a bad ttl" 2 "$LS" push --ttl 2weeks /dev/null
grep_ok "bad ttl message says what to use" "30s, 10m, 2h or 7d" "$ERR"
expect_exit "pull with -o and -O" 2 "$LS" pull -o a -O "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa"
expect_exit "pull of something that is no link" 2 "$LS" pull not-a-link
expect_exit "bad LINKSYNC_SERVER" 2 env LINKSYNC_SERVER=localhost:8080 "$LS" push /dev/null
expect_exit "bad --server" 2 "$LS" --server ftp://x push /dev/null

# --- push and pull a text file --------------------------------------------
printf 'hello linksync\nsecond line\n' >note.txt
expect_exit "push a text file" 0 "$LS" push note.txt
URL=$(cat "$OUT")
check "push prints the link alone on stdout when it is no terminal" \
	grep -qx "http://127\.0\.0\.1:$PORT/$ID_RE" "$OUT"
check_eq "push prints one line" 1 "$(wc -l <"$OUT")"
check_eq "push says nothing on stderr when it is no terminal" "" "$(cat "$ERR")"
expect_exit "pull to stdout" 0 "$LS" pull "$URL"
check "pulled text is byte-identical" cmp -s note.txt "$OUT"
expect_exit "pull -o" 0 "$LS" pull "$URL" -o copy.txt
check "pull -o writes the same bytes" cmp -s note.txt copy.txt
check_eq "pull -o leaves no temporary file" "copy.txt note.txt" "$(ls -A | tr '\n' ' ' | sed 's/ $//')"
expect_exit "pull -o - is stdout" 0 "$LS" pull -o - "$URL"
check "pull -o - gives the bytes" cmp -s note.txt "$OUT"
expect_exit "pull -o /dev/null" 0 "$LS" pull "$URL" -o /dev/null
check "/dev/null is still a device" test -c /dev/null
ID=${URL##*/}
expect_exit "pull of a bare id (upper case) on --server" 0 "$LS" pull "$(echo "$ID" | tr a-z A-Z)"
check "a bare id pulls the item" cmp -s note.txt "$OUT"
expect_exit "pull of the raw link" 0 "$LS" pull "$URL/raw"
check "the raw link pulls the item" cmp -s note.txt "$OUT"
expect_exit "pull of a link with a #key" 0 "$LS" pull "$URL#c2VjcmV0LWtleS1ub3Qtc2VudA"
check "a #fragment does not change what is pulled" cmp -s note.txt "$OUT"
if grep -q "c2VjcmV0LWtleS1ub3Qtc2VudA" "$SERVER_LOG"; then
	fail "the #key reached the server"
else
	ok "the #key never reached the server log"
fi

# --- the owner-token file -------------------------------------------------
TOKENS="$XDG_STATE_HOME/linksync/tokens.jsonl"
check "the token file exists" test -f "$TOKENS"
check_eq "the token file is 0600" 600 "$(mode_of "$TOKENS")"
check_eq "the token directory is 0700" 700 "$(mode_of "$XDG_STATE_HOME/linksync")"
check "the token file records the link" grep -q "\"url\":\"$URL\"" "$TOKENS"

BEFORE=$(wc -l <"$TOKENS")
PIDS=""
for i in 1 2 3 4 5 6 7 8; do
	"$LS" push note.txt >/dev/null 2>&1 &
	PIDS="$PIDS $!"
done
wait $PIDS # not a bare wait: the server is a child too
check_eq "8 pushes at once append 8 records" $((BEFORE + 8)) "$(wc -l <"$TOKENS")"
check_eq "every record is whole" 0 "$(grep -vc '^{"id":"[a-z2-7]\{26\}",.*"owner_token":"[^"]\{20,\}".*}$' "$TOKENS")"

# --- --json ---------------------------------------------------------------
expect_exit "push --json" 0 "$LS" push --json --ttl 10m note.txt
cp "$OUT" push.json
TOKEN=$(tr -d '\n' <push.json | sed -n 's/.*"owner_token"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
JURL=$(tr -d '\n' <push.json | sed -n 's/.*"url"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p')
check "--json has an owner_token" test -n "$TOKEN"
check "--json has the url" grep -qx "http://127\.0\.0\.1:$PORT/$ID_RE" <<<"$JURL"
check "--json is one JSON object" grep -q '^{' push.json
check "--json has kind note" grep -q '"kind"[[:space:]]*:[[:space:]]*"note"' push.json
check "--json has the name" grep -q '"name"[[:space:]]*:[[:space:]]*"note.txt"' push.json
check "the token file holds the owner token" grep -qF "\"owner_token\":\"$TOKEN\"" "$TOKENS"
check_eq "the token file is still 0600 after more pushes" 600 "$(mode_of "$TOKENS")"
expect_exit "the --json url pulls" 0 "$LS" pull "$JURL"
check "the --json url gives the bytes" cmp -s note.txt "$OUT"

# --- empty, big and stdin ---------------------------------------------------
: >empty
expect_exit "push a 0-byte file" 0 "$LS" push empty
EURL=$(cat "$OUT")
expect_exit "pull a 0-byte item" 0 "$LS" pull "$EURL" -o empty.out
check "a 0-byte item comes back empty" test -f empty.out -a ! -s empty.out

head -c 10485760 /dev/urandom >big.bin
expect_exit "push 10 MiB of random bytes" 0 "$LS" push big.bin
BURL=$(cat "$OUT")
expect_exit "pull 10 MiB with -o" 0 "$LS" pull "$BURL" -o big.out
check "10 MiB come back byte-identical" cmp -s big.bin big.out
expect_exit "pull 10 MiB to stdout" 0 "$LS" pull "$BURL"
check "10 MiB to stdout are byte-identical" cmp -s big.bin "$OUT"
rm -f big.out

expect_exit "push 10 MiB from stdin" 0 "$LS" push - <big.bin
SURL=$(cat "$OUT")
expect_exit "pull what stdin pushed" 0 "$LS" pull "$SURL" -o big.out
check "stdin push is byte-identical" cmp -s big.bin big.out
expect_exit "stdin binary is pushed as octet-stream" 0 "$LS" push --json - <big.bin
grep_ok "stdin binary type" '"type"[[:space:]]*:[[:space:]]*"application/octet-stream"' "$OUT"
expect_exit "stdin text is pushed as text/plain" 0 "$LS" push --json - <note.txt
grep_ok "stdin text type" '"type"[[:space:]]*:[[:space:]]*"text/plain' "$OUT"
expect_exit "--type overrides" 0 "$LS" push --json --type application/x-linksync-test note.txt
grep_ok "--type is what the server stores" '"type"[[:space:]]*:[[:space:]]*"application/x-linksync-test"' "$OUT"
rm -f big.out

# --- -O: the server's name, made safe -----------------------------------------
mkdir -p "$W/o/a/b"
cd "$W/o/a/b" || exit 1
expect_exit "push with a name" 0 "$LS" push --name report.txt "$W/note.txt"
NURL=$(cat "$OUT")
expect_exit "pull -O" 0 "$LS" pull -O "$NURL"
check_eq "pull -O prints the name it saved under" "report.txt" "$(cat "$OUT")"
check "pull -O saved the bytes" cmp -s "$W/note.txt" report.txt
echo "mine" >report.txt
expect_exit "pull -O does not overwrite" 7 "$LS" pull -O "$NURL"
grep_ok "the refusal says --force" "--force" "$ERR"
check_eq "the existing file is untouched" "mine" "$(cat report.txt)"
expect_exit "pull -O --force overwrites" 0 "$LS" pull -O --force "$NURL"
check "--force wrote the item" cmp -s "$W/note.txt" report.txt

printf 'hostile\n' | "$LS" push --name '../../x' - >"$OUT" 2>"$ERR"
HURL=$(cat "$OUT")
expect_exit "pull -O of a hostile name" 0 "$LS" pull -O "$HURL"
check_eq "the hostile name is cut to its base name" "x" "$(cat "$OUT")"
check_eq "it lands in the current directory" "hostile" "$(cat x 2>/dev/null)"
check "nothing is written up the tree" test ! -e "$W/o/x"
printf 'dot\n' | "$LS" push --name '.bashrc' - >"$OUT" 2>"$ERR"
DURL=$(cat "$OUT")
expect_exit "pull -O of a hidden name" 0 "$LS" pull -O "$DURL"
check_eq "a hidden name is made visible" "bashrc" "$(cat "$OUT")"
check_eq "-O leaves no temporary file" "bashrc report.txt x" "$(ls -A | tr '\n' ' ' | sed 's/ $//')"
cd "$W" || exit 1

# --- qr and scan ------------------------------------------------------------
expect_exit "qr into a PNG" 0 "$LS" qr "hello from a QR code" --png text.png
check "qr wrote a PNG" grep -q PNG <(head -c 8 text.png)
expect_exit "scan of a text QR code exits 9" 9 "$LS" scan text.png
check_eq "scan prints the text" "hello from a QR code" "$(cat "$OUT")"
expect_exit "qr into an SVG" 0 "$LS" qr "$URL" --svg link.svg --png link.png
check "qr wrote an SVG" grep -q "<svg" link.svg
expect_exit "scan of a link QR code pulls the item" 0 "$LS" scan link.png
check "scan gives the item's bytes" cmp -s note.txt "$OUT"
grep_ok "scan prints the link it found on stderr" "$URL" "$ERR"
expect_exit "qr to the terminal (a pipe here)" 0 "$LS" qr "$URL"
check "qr draws half blocks" grep -q "▀\|▄\|█" "$OUT"
expect_exit "push --png --svg" 0 "$LS" push note.txt --png push.png --svg push.svg
PURL=$(cat "$OUT")
expect_exit "scan of push --png" 0 "$LS" scan push.png -o scanned.txt
check "scan -o of push --png gives the item" cmp -s note.txt scanned.txt
expect_exit "push --png - puts the PNG on stdout" 0 "$LS" push note.txt --png -
check "stdout holds the PNG alone" grep -q PNG <(head -c 8 "$OUT")
cp "$OUT" stdout.png
grep_ok "and the link goes to stderr" "http://127.0.0.1:$PORT/" "$ERR"
expect_exit "scan of push --png -" 0 "$LS" scan stdout.png
check "push --png - gives a readable code" cmp -s note.txt "$OUT"
expect_exit "push --json --png - is refused" 2 "$LS" push note.txt --json --png -
curl -fsS "$PURL/qr.png" -o server-qr.png
expect_exit "scan of the server's qr.png" 0 "$LS" scan server-qr.png
check "the server's QR code pulls the item" cmp -s note.txt "$OUT"
echo iVBORw0KGgoAAAANSUhEUgAAAEAAAABACAAAAACPAi4CAAAAKUlEQVR42u3MQREAAAwCIPuX1hD77SAA6VEEAoFAIBAIBAKBQCAQfA8Gpwvw4qrwDDIAAAAASUVORK5CYII= |
	base64 -d >blank.png
expect_exit "scan of an image without a QR code" 8 "$LS" scan blank.png
expect_exit "scan of a file that is no image" 7 "$LS" scan note.txt
expect_exit "scan of a missing image" 7 "$LS" scan missing.png
expect_exit "scan from stdin" 0 "$LS" scan - <link.png
check "scan - pulls the item" cmp -s note.txt "$OUT"

# --- exit codes -------------------------------------------------------------
expect_exit "pull of an unknown id" 4 "$LS" pull "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa"
grep_ok "404 says what happened" "aaaaaaaaaaaaaaaaaaaaaaaaaa" "$ERR"
expect_exit "pull -o of an unknown id" 4 "$LS" pull "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa" -o nothing.txt
check "a failed pull creates no file" test ! -e nothing.txt
check "a failed pull leaves no temporary file" test -z "$(ls -A | grep '^\.nothing')"
expect_exit "push of a missing file" 7 "$LS" push no-such-file.txt
grep_ok "missing file message" "no-such-file.txt" "$ERR"
expect_exit "push of a directory" 7 "$LS" push "$W"
expect_exit "pull -o into a missing directory" 7 "$LS" pull "$URL" -o /nonexistent/dir/f

# --- update and delete --------------------------------------------------------
printf 'version one\n' >v.txt
expect_exit "push before update" 0 "$LS" push v.txt
VURL=$(cat "$OUT")
printf 'version two\n' >v2.txt
"$LS" update "$VURL" v2.txt >"$OUT" 2>"$ERR"
rc=$?
if [ "$rc" = 5 ] && grep -q "405" "$ERR"; then
	echo "skip - update and delete: the server answers 405"
else
	check_eq "update exits 0" 0 "$rc"
	expect_exit "pull after update" 0 "$LS" pull "$VURL"
	check "pull sees the new version" cmp -s v2.txt "$OUT"
	expect_exit "update with a wrong token" 5 "$LS" update "$VURL" v.txt --token wrong-token
	expect_exit "delete with a wrong token" 5 "$LS" delete "$VURL" --token wrong-token
	expect_exit "delete" 0 "$LS" delete "$VURL"
	expect_exit "pull after delete" 4 "$LS" pull "$VURL"
	check "delete forgets the token" test -z "$(grep "${VURL##*/}" "$TOKENS")"
	expect_exit "delete again: no token left" 10 "$LS" delete "$VURL"
fi
expect_exit "update without a saved token" 10 "$LS" update "$BASE/bbbbbbbbbbbbbbbbbbbbbbbbbb" v.txt

# --- terminals ------------------------------------------------------------
# script(1) gives the client a terminal on stdout and stderr.
if command -v script >/dev/null 2>&1; then
	script -qec "'$LS' push '$W/note.txt'" /dev/null >tty.out 2>&1 </dev/null
	check "on a terminal push draws the QR code" grep -q "▀\|▄" tty.out
	check "on a terminal push prints the link" grep -q "http://127\.0\.0\.1:$PORT/" tty.out
	check "on a terminal push tells the expiry" grep -q "expires" tty.out
	script -qec "'$LS' pull '$BURL'" /dev/null >tty.out 2>&1 </dev/null
	check "binary content is not written to a terminal" grep -q "not writing" tty.out
else
	echo "skip - terminal checks: script(1) is missing"
fi

# --- a server that refuses big items, and no server ---------------------------
stop_server
expect_exit "push with the server stopped" 3 "$LS" push note.txt
grep_ok "the network error says what to do" "cannot reach $BASE (connection refused)" "$ERR"
expect_exit "pull with the server stopped" 3 "$LS" pull "$URL"

start_server --max-size 1M
head -c 2000000 /dev/urandom >two-mb.bin
expect_exit "push of an oversized file" 5 "$LS" push two-mb.bin
grep_ok "413 is reported" "413" "$ERR"
expect_exit "push of an oversized stdin" 5 "$LS" push - <two-mb.bin
expect_exit "a small file still goes" 0 "$LS" push note.txt
stop_server

finish
