#!/usr/bin/env bash
# End-to-end tests of the server's QR codes (GET /{id}/qr.svg, qr.png,
# qr.txt), which linksyncd renders once and then serves from memory: a cached
# image is byte for byte the first one and a fresh rendering by the CLI, it
# decodes (zbarimg) to the item's link, its ETag answers 304, its
# Cache-Control follows the item's life (no-store for a read-limited item),
# and once an item is deleted, expired or used up its cached code is 404.
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PUBLIC=http://lks.test:8080
W="$TMP/work"
mkdir -p "$W"

# json_get KEY FILE: a string field of a one-object JSON answer.
json_get() {
	tr -d '\n' <"$2" | sed -n "s/.*\"$1\"[[:space:]]*:[[:space:]]*\"\([^\"]*\)\".*/\1/p"
}

# hdr NAME FILE: a response header's value in a curl -D dump, without the CR.
hdr() {
	sed -n "s/^$1:[[:space:]]*//Ip" "$2" | tr -d '\r' | tail -n1
}

# get OUTNAME URL [CURL-ARGS...]: body into $W/OUTNAME, headers into
# $W/OUTNAME.h; prints the status code.
get() {
	local out=$1 url=$2
	shift 2
	: >"$W/$out"
	curl -sS --max-time 30 -o "$W/$out" -D "$W/$out.h" -w '%{http_code}' "$@" "$url"
}

# create OUTNAME QUERY: posts a note, sets ID and TOKEN.
create() {
	curl -sS --max-time 30 -o "$W/$1.json" -H 'Content-Type: text/plain' \
		--data-binary "note $1" "$BASE/api/v1/items?$2"
	ID=$(json_get id "$W/$1.json")
	TOKEN=$(json_get owner_token "$W/$1.json")
}

# max_age FILE: the max-age of a dump's Cache-Control.
max_age() {
	hdr Cache-Control "$1" | sed -n 's/.*max-age=\([0-9]*\).*/\1/p'
}

start_server --public-url "$PUBLIC" --quiet
echo "# server on $BASE ($LINKSYNCD)"

# --- The cached image is the first one, and a fresh rendering ---------------
create a "ttl=1h"
A=$ID
URL="$PUBLIC/$A"
check_eq "created" "$URL" "$(json_get url "$W/a.json")"
"$LINKSYNC" qr "$URL" --png "$W/cli.png" --svg "$W/cli.svg" >/dev/null 2>&1
for f in png svg txt; do
	check_eq "qr.$f: first 200" 200 "$(get "first.$f" "$BASE/$A/qr.$f")"
	for i in 1 2 3; do
		get "again.$f" "$BASE/$A/qr.$f" >/dev/null
		check "qr.$f: fetch $i again is byte for byte the first" cmp -s "$W/first.$f" "$W/again.$f"
	done
	check_eq "qr.$f: the same ETag" "$(hdr ETag "$W/first.$f.h")" "$(hdr ETag "$W/again.$f.h")"
	check "qr.$f: a strong ETag from the bytes" \
		grep -qE '^"qr-[0-9a-f]{16}"$' <<<"$(hdr ETag "$W/first.$f.h")"
done
check "qr.png: the CLI's fresh rendering" cmp -s "$W/cli.png" "$W/again.png"
check "qr.svg: the CLI's fresh rendering" cmp -s "$W/cli.svg" "$W/again.svg"
check "qr.png and qr.svg: different ETags" \
	test "$(hdr ETag "$W/first.png.h")" != "$(hdr ETag "$W/first.svg.h")"
if command -v zbarimg >/dev/null; then
	check_eq "qr.png: decodes to the item's link (first)" "$URL" \
		"$(zbarimg --raw -q "$W/first.png" 2>/dev/null)"
	check_eq "qr.png: decodes to the item's link (cached)" "$URL" \
		"$(zbarimg --raw -q "$W/again.png" 2>/dev/null)"
else
	echo "skip - zbarimg is missing (apt-get install zbar-tools)"
fi

# --- Browser caching: the item's life, at most a day; 304 --------------------
m=$(max_age "$W/again.png.h")
check "Cache-Control: private" grep -q '^private' <<<"$(hdr Cache-Control "$W/again.png.h")"
check "max-age follows the item's hour (got '$m')" test -n "$m" -a "${m:-0}" -le 3600 -a "${m:-0}" -ge 3500
create day "ttl=7d"
get week.svg "$BASE/$ID/qr.svg" >/dev/null
check_eq "max-age is at most a day" 86400 "$(max_age "$W/week.svg.h")"
ETAG=$(hdr ETag "$W/again.svg.h")
check_eq "If-None-Match with the ETag: 304" 304 \
	"$(get inm.svg "$BASE/$A/qr.svg" -H "If-None-Match: $ETAG")"
check_eq "304: empty" 0 "$(stat -c %s "$W/inm.svg")"
check_eq "304: the ETag" "$ETAG" "$(hdr ETag "$W/inm.svg.h")"
check "304: the Cache-Control" grep -q 'max-age=' <<<"$(hdr Cache-Control "$W/inm.svg.h")"
check_eq "If-None-Match with another tag: 200" 200 \
	"$(get inm2.svg "$BASE/$A/qr.svg" -H 'If-None-Match: "qr-0000000000000000"')"
check "If-None-Match with another tag: the image" cmp -s "$W/first.svg" "$W/inm2.svg"

# --- A deleted item's cached code is 404 --------------------------------------
create del "ttl=1h"
DEL=$ID
DEL_TOKEN=$TOKEN
for f in png svg txt; do get "del.$f" "$BASE/$DEL/qr.$f" >/dev/null; done
get del2.png "$BASE/$DEL/qr.png" >/dev/null
check "before the delete: cached" cmp -s "$W/del.png" "$W/del2.png"
check_eq "delete: 204" 204 "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE \
	-H "Authorization: Bearer $DEL_TOKEN" "$BASE/api/v1/items/$DEL")"
for f in png svg txt; do
	check_eq "deleted: qr.$f is 404" 404 "$(get "gone.$f" "$BASE/$DEL/qr.$f")"
done
check_eq "deleted: If-None-Match is 404, not 304" 404 \
	"$(get gone2.png "$BASE/$DEL/qr.png" -H "If-None-Match: $(hdr ETag "$W/del.png.h")")"
check_eq "deleted: the 404 is no-store" no-store "$(hdr Cache-Control "$W/gone.png.h")"
check_eq "the other item's code still served" 200 "$(get still.png "$BASE/$A/qr.png")"
check "the other item's code unchanged" cmp -s "$W/first.png" "$W/still.png"

# --- Expired, used up, unknown ------------------------------------------------
create short "ttl=1s"
SHORT=$ID
check_eq "short-lived: qr.png 200" 200 "$(get short.png "$BASE/$SHORT/qr.png")"
sleep 2.2
check_eq "expired: cached qr.png is 404" 404 "$(get short2.png "$BASE/$SHORT/qr.png")"

create limited "ttl=1h&reads=1"
LIM=$ID
check_eq "read-limited: qr.svg 200" 200 "$(get lim.svg "$BASE/$LIM/qr.svg")"
check_eq "read-limited: kept nowhere" no-store "$(hdr Cache-Control "$W/lim.svg.h")"
get lim2.svg "$BASE/$LIM/qr.svg" >/dev/null
check "read-limited: cached image is the first" cmp -s "$W/lim.svg" "$W/lim2.svg"
check_eq "read-limited: the codes used no read" 200 "$(get lim.raw "$BASE/$LIM/raw")"
check_eq "used up: cached qr.svg is 404" 404 "$(get lim3.svg "$BASE/$LIM/qr.svg")"

check_eq "unknown id: 404" 404 "$(get unknown.png "$BASE/aaaaaaaaaaaaaaaaaaaaaaaaaa/qr.png")"

finish
