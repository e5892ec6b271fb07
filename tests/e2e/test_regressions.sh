# Bugs found in review, each with the request that showed it.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

start_server
W="$TMP/w"
mkdir -p "$W"

# Content-Disposition for a name made only of characters that percent-encode
# to three bytes each overflowed its buffer (seen under AddressSanitizer).
for name in '((((((((' '()*,()*,()*,()*,' ' ( ) ( ) ( ) '; do
	enc=$(printf '%s' "$name" | sed 's/(/%28/g; s/)/%29/g; s/\*/%2A/g; s/,/%2C/g; s/ /%20/g')
	id=$(curl -sS -H 'Accept: text/plain' -H 'Content-Type: application/octet-stream' \
		--data-binary hello "$BASE/api/v1/items?name=$enc" | sed 's#.*/##')
	code=$(curl -sS -o "$W/body" -D "$W/head" -w '%{http_code}' "$BASE/$id/raw")
	check_eq "raw of an item named '$name'" 200 "$code"
	check "its Content-Disposition is sent" grep -qi '^Content-Disposition: attachment; filename="' "$W/head"
done
check "the server is alive" curl -fsS -o /dev/null "$BASE/healthz"

# Opening a one-read note longer than the page shows (512 KiB) cut its end
# off for good: it is now delivered whole, as a download.
head -c 600000 /dev/zero | tr '\0' 'n' >"$W/long.txt"
id=$(curl -sS -H 'Accept: text/plain' -H 'Content-Type: text/plain' --data-binary @"$W/long.txt" \
	"$BASE/api/v1/items?reads=1" | sed 's#.*/##')
curl -sS -o "$W/opened" -X POST "$BASE/$id/open"
check "a long one-read note opens whole" cmp -s "$W/long.txt" "$W/opened"

# Long polls parked when the server stops get their 304, not a closed
# connection.
id=$(curl -sS -H 'Accept: text/plain' --data-binary x "$BASE/api/v1/items" | sed 's#.*/##')
etag=$(curl -sSI "$BASE/$id/raw" | tr -d '\r' | sed -n 's/^[Ee][Tt][Aa][Gg]: //p')
for i in 1 2 3 4 5 6; do
	curl -s -o /dev/null -w '%{http_code}\n' -H "If-None-Match: $etag" \
		"$BASE/$id/raw?wait=60" >"$W/poll.$i" &
done
sleep 1
stop_server
wait
for i in 1 2 3 4 5 6; do
	check_eq "long poll $i answered at shutdown" 304 "$(cat "$W/poll.$i")"
done
if grep -qE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$SERVER_LOG"; then
	fail "sanitizer report in the server log"
	cat "$SERVER_LOG"
fi
finish
