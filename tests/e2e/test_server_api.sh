#!/usr/bin/env bash
# End-to-end tests of linksyncd's HTTP API, driven by curl against the real
# server on a loopback port: creating items (POST, Accept: text/plain, curl -T),
# pulling them back byte for byte under every URL form, the delivery headers
# (type, length, disposition, validators, CSP), conditional and HEAD requests,
# metadata, the item page's escaping, QR codes, ttl and reads, the owner's
# update and delete, the uniform 404, 405 with Allow, and that a rejected
# request stores nothing. Only bash, curl, coreutils, sed/grep/awk and the
# store's shell (sqlite3, or psql on PostgreSQL) are used, as on a fresh CI
# machine.
# shellcheck source=lib.sh disable=SC2016,SC2317 # single-quoted bash -c scripts; helpers run via check
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PUBLIC=http://lks.test:8080
LOGS=()
W="$TMP/work"
mkdir -p "$W"

# ---------------------------------------------------------------------------
# Helpers

start() {
	start_server "$@"
	LOGS+=("$SERVER_LOG")
}

# json_get KEY FILE: a top-level field of a JSON object (a string unescaped for
# \" \/ and \\, or a bare number, true, false, null); empty when absent.
json_get() {
	local re="\"$1\"[[:space:]]*:[[:space:]]*(\"([^\"\\\\]|\\\\.)*\"|[^,}[:space:]]*)"
	tr -d '\n' <"$2" | grep -oE "$re" | head -n1 |
		sed -E "s/^\"$1\"[[:space:]]*:[[:space:]]*//; s/^\"(.*)\"\$/\1/" |
		sed -e 's/\\"/"/g' -e 's/\\\//\//g' -e 's/\\\\/\\/g'
}

# hdr NAME FILE: the value of a response header in a curl -D dump (the last
# one of that name), without the CR.
hdr() {
	sed -n "s/^$1:[[:space:]]*//Ip" "$2" | tr -d '\r' | tail -n1
}

# hdr_count NAME FILE: how many times a header appears.
hdr_count() {
	grep -ic "^$1:" "$2"
}

# epoch RFC3339-OR-HTTP-DATE: Unix seconds, or empty.
epoch() {
	date -u -d "$1" +%s 2>/dev/null
}

# pct_decode STRING: RFC 3986 percent-decoding (bytes as they are).
pct_decode() {
	local s=${1//\\/\\\\}
	printf '%b' "$(printf '%s' "$s" | sed 's/%\([0-9A-Fa-f][0-9A-Fa-f]\)/\\x\1/g')"
}

# rows: items stored in the database.
rows() {
	db_count_items
}

# req OUTNAME CURL-ARGS...: runs curl, body into $W/OUTNAME.body, headers into
# $W/OUTNAME.h; prints the status code.
req() {
	local out=$1
	shift
	: >"$W/$out.body"
	curl -sS --max-time 30 -o "$W/$out.body" -D "$W/$out.h" -w '%{http_code}' "$@"
}

# create OUTNAME CURL-ARGS...: POSTs and sets ID and TOKEN from the JSON.
ID=""
TOKEN=""
create() {
	local out=$1 code
	shift
	code=$(req "$out" -X POST "$@")
	ID=$(json_get id "$W/$out.body")
	TOKEN=$(json_get owner_token "$W/$out.body")
	[ "$code" = 201 ] || echo "  (create $out: HTTP $code: $(head -c 300 "$W/$out.body"))"
}

# put_file OUTNAME FILE URL [CURL-ARGS...]: curl -T, sets ID from the URL text.
put_file() {
	local out=$1 file=$2 url=$3 code
	shift 3
	code=$(req "$out" -T "$file" "$@" "$url")
	ID=$(tr -d '\r\n' <"$W/$out.body" | sed 's#.*/##')
	[ "$code" = 201 ] || echo "  (put $out: HTTP $code: $(head -c 300 "$W/$out.body"))"
}

is_id() {
	[[ $1 =~ ^[a-z2-7]{26}$ ]]
}

is_rfc3339() {
	[[ $1 =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]]
}

# no_header_breakers STRING: no quote, CR, LF or ';' that could end a header
# parameter or start a new header.
no_header_breakers() {
	[[ $1 != *[$'"\r\n;']* ]]
}

# no_inline_script FILE: every <script> tag loads a same-origin file, no tag
# has an on*= handler, no javascript: URL.
no_inline_script() {
	! grep -oiE '<script[^>]*>' "$1" | grep -viqE '^<script[^>]* src="/[^/]' &&
		! grep -qiE '<[a-z][^>]*[[:space:]]on[a-z]+[[:space:]]*=' "$1" &&
		! grep -qi 'javascript:' "$1"
}

is_error_json() { # FILE CODE
	grep -q "\"error\"[[:space:]]*:[[:space:]]*\"$2\"" "$1" &&
		[ -n "$(json_get message "$1")" ]
}

# A wrong but well-formed owner token, and a valid id nobody created.
WRONG_TOKEN=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
NO_ID=aaaaaaaaaaaaaaaaaaaaaaaaaa

# ---------------------------------------------------------------------------
start --public-url "$PUBLIC" --max-ttl 7d --max-size 12M
echo "# server on $BASE ($LINKSYNCD)"

# --- Create by POST: the JSON answer -----------------------------------------
printf 'hello, linksync\nsecond line\n' >"$W/hello.txt"
create post -H 'Content-Type: text/plain' --data-binary @"$W/hello.txt" \
	"$BASE/api/v1/items?ttl=10m&name=hello.txt"
B="$W/post.body"
check "POST: id is 26 chars of lower-case base32" is_id "$ID"
check_eq "POST: Content-Type is JSON" "application/json" "$(hdr Content-Type "$W/post.h" | cut -d';' -f1)"
check_eq "POST: url" "$PUBLIC/$ID" "$(json_get url "$B")"
check_eq "POST: Location is the url" "$PUBLIC/$ID" "$(hdr Location "$W/post.h")"
check_eq "POST: raw_url" "$PUBLIC/$ID/raw" "$(json_get raw_url "$B")"
check_eq "POST: qr_svg_url" "$PUBLIC/$ID/qr.svg" "$(json_get qr_svg_url "$B")"
check_eq "POST: qr_png_url" "$PUBLIC/$ID/qr.png" "$(json_get qr_png_url "$B")"
check_eq "POST: qr_txt_url" "$PUBLIC/$ID/qr.txt" "$(json_get qr_txt_url "$B")"
check_eq "POST: kind of text/plain" note "$(json_get kind "$B")"
check_eq "POST: type normalised" "text/plain; charset=utf-8" "$(json_get type "$B")"
check_eq "POST: name" hello.txt "$(json_get name "$B")"
check_eq "POST: size" "$(stat -c %s "$W/hello.txt")" "$(json_get size "$B")"
check_eq "POST: version" 1 "$(json_get version "$B")"
check_eq "POST: reads_left unlimited" null "$(json_get reads_left "$B")"
created=$(json_get created_at "$B")
expires=$(json_get expires_at "$B")
check "POST: created_at is RFC 3339" is_rfc3339 "$created"
check_eq "POST: updated_at = created_at" "$created" "$(json_get updated_at "$B")"
check_eq "POST: expires_at = created_at + 10m" 600 $(($(epoch "$expires") - $(epoch "$created")))
now=$(date -u +%s)
check "POST: created_at is now" test $((now - $(epoch "$created"))) -le 5
check "POST: etag is a quoted string" grep -qE '^"[^"]+"$' <<<"$(json_get etag "$B")"
check "POST: owner_token is 43 chars of base64url" grep -qE '^[A-Za-z0-9_-]{43}$' <<<"$TOKEN"
HELLO_ID=$ID
HELLO_TOKEN=$TOKEN
HELLO_ETAG=$(json_get etag "$B")

# --- Kinds by Content-Type ---------------------------------------------------
printf 'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//linksync//e2e//EN\r\nBEGIN:VEVENT\r\nUID:e2e-1@linksync.test\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\nSUMMARY:Team lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n' >"$W/event.ics"
printf 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada Lovelace\r\nN:Lovelace;Ada;;;\r\nTEL;VALUE=uri;TYPE=cell:tel:+44-20-7946-0000\r\nEMAIL:ada@example.org\r\nEND:VCARD\r\n' >"$W/ada.vcf"
curl -sS -o "$W/qr.png" "$BASE/$HELLO_ID/qr.png"
head -c 3000 /dev/urandom >"$W/blob.bin"

create cal -H 'Content-Type: text/calendar' --data-binary @"$W/event.ics" "$BASE/api/v1/items"
check_eq "kind of text/calendar" calendar "$(json_get kind "$W/cal.body")"
check_eq "type of text/calendar" "text/calendar; charset=utf-8" "$(json_get type "$W/cal.body")"
CAL_ID=$ID
CAL_TOKEN=$TOKEN
create vcf -H 'Content-Type: text/vcard' --data-binary @"$W/ada.vcf" "$BASE/api/v1/items"
check_eq "kind of text/vcard" contact "$(json_get kind "$W/vcf.body")"
create xvcf -H 'Content-Type: text/x-vcard' --data-binary @"$W/ada.vcf" "$BASE/api/v1/items"
check_eq "text/x-vcard is normalised to text/vcard" "text/vcard; charset=utf-8" "$(json_get type "$W/xvcf.body")"
create png -H 'Content-Type: image/png' --data-binary @"$W/qr.png" "$BASE/api/v1/items"
check_eq "kind of image/png" file "$(json_get kind "$W/png.body")"
check_eq "type of image/png" image/png "$(json_get type "$W/png.body")"
PNG_ID=$ID
create bin -H 'Content-Type: application/octet-stream' --data-binary @"$W/blob.bin" "$BASE/api/v1/items"
check_eq "kind of application/octet-stream" file "$(json_get kind "$W/bin.body")"
BIN_ID=$ID
# Options as X-Linksync-* headers; a non-ASCII name comes percent-encoded.
create hdrs -H 'Content-Type: text/plain' -H 'X-Linksync-Ttl: 2h' -H 'X-Linksync-Reads: 3' \
	-H 'X-Linksync-Name: r%C3%A9sum%C3%A9.txt' --data-binary @"$W/hello.txt" "$BASE/api/v1/items"
check_eq "X-Linksync-Ttl: 2h" 7200 \
	$(($(epoch "$(json_get expires_at "$W/hdrs.body")") - $(epoch "$(json_get created_at "$W/hdrs.body")")))
check_eq "X-Linksync-Reads: 3" 3 "$(json_get reads_left "$W/hdrs.body")"
check_eq "X-Linksync-Name is percent-decoded" "résumé.txt" "$(json_get name "$W/hdrs.body")"

# --- Create with Accept: text/plain, and with curl -T ------------------------
code=$(req plain -X POST -H 'Accept: text/plain' -H 'Content-Type: text/plain' \
	--data-binary @"$W/hello.txt" "$BASE/api/v1/items")
check_eq "Accept: text/plain: 201" 201 "$code"
url=$(head -n1 "$W/plain.body")
check "Accept: text/plain: body is the URL and a newline" \
	test "$(cat "$W/plain.body")"$'\n' = "$url"$'\n' -a "$(wc -l <"$W/plain.body")" = 1
check "Accept: text/plain: URL is {public}/{id}" grep -qE "^$PUBLIC/[a-z2-7]{26}\$" <<<"$url"
check_eq "Accept: text/plain: Location is the URL" "$url" "$(hdr Location "$W/plain.h")"
check_eq "Accept: text/plain: Content-Type" text/plain "$(hdr Content-Type "$W/plain.h" | cut -d';' -f1)"
check_eq "Accept: text/plain: pulls back" "$(cat "$W/hello.txt")" "$(curl -sS "$BASE/${url##*/}/raw")"

printf 'unnamed upload\n' >"$W/unnamed"
put_file putroot "$W/unnamed" "$BASE/"
check_eq "curl -T file \$BASE/: 201 with the URL" "$PUBLIC/$ID" "$(tr -d '\n' <"$W/putroot.body")"
check "curl -T file \$BASE/: id" is_id "$ID"
cmp -s "$W/unnamed" <(curl -sS "$BASE/$ID/raw")
check "curl -T file \$BASE/: content" test $? = 0

put_file putname "$W/hello.txt" "$BASE/notes.txt"
check_eq "curl -T file \$BASE/notes.txt: URL" "$PUBLIC/$ID" "$(tr -d '\n' <"$W/putname.body")"
curl -sS -o "$W/putname.meta" "$BASE/api/v1/items/$ID"
check_eq "curl -T: name kept" notes.txt "$(json_get name "$W/putname.meta")"
check_eq "curl -T: type from the .txt extension" "text/plain; charset=utf-8" "$(json_get type "$W/putname.meta")"
check_eq "curl -T: kind from the .txt extension" note "$(json_get kind "$W/putname.meta")"
put_file putics "$W/event.ics" "$BASE/event.ics"
curl -sS -o "$W/putics.meta" "$BASE/api/v1/items/$ID"
check_eq "curl -T event.ics: calendar" calendar "$(json_get kind "$W/putics.meta")"
put_file putpng "$W/qr.png" "$BASE/code.png"
curl -sS -o "$W/putpng.meta" "$BASE/api/v1/items/$ID"
check_eq "curl -T code.png: image/png" image/png "$(json_get type "$W/putpng.meta")"
put_file putjson "$W/hello.txt" "$BASE/x.txt" -H 'Accept: application/json'
check "curl -T with Accept: application/json gets JSON" grep -q '"owner_token"' "$W/putjson.body"

# --- Byte-identical pulls: text, empty, 10 MiB random ------------------------
: >"$W/empty.bin"
head -c $((10 * 1024 * 1024)) /dev/urandom >"$W/big.bin"
for f in hello.txt empty.bin big.bin; do
	put_file "up-$f" "$W/$f" "$BASE/$f"
	check "$f: stored" is_id "$ID"
	upper=$(tr '[:lower:]' '[:upper:]' <<<"$ID")
	paths=("$ID/raw" "$ID" "$ID/$f" "$upper/raw")
	# Other names and forms once, on the small file.
	[ "$f" = hello.txt ] && paths+=("$ID/other-name.dat" "$upper" "$upper/$f")
	for path in "${paths[@]}"; do
		curl -sS --max-time 30 -o "$W/got" -D "$W/got.h" "$BASE/$path"
		cmp -s "$W/$f" "$W/got"
		check "$f: GET /$path is byte-identical" test $? = 0
		check_eq "$f: GET /$path Content-Length" "$(stat -c %s "$W/$f")" "$(hdr Content-Length "$W/got.h")"
	done
done
check_eq "10 MiB item: metadata size" $((10 * 1024 * 1024)) \
	"$(curl -sS "$BASE/api/v1/items/$ID" | tr -d '\n' | grep -oE '"size": *[0-9]+' | grep -oE '[0-9]+$')"
BIG_ID=$ID

# --- Delivery headers --------------------------------------------------------
req hh "$BASE/$HELLO_ID/raw" >/dev/null
check_eq "raw: Content-Type" "text/plain; charset=utf-8" "$(hdr Content-Type "$W/hh.h")"
check_eq "raw: Content-Length" "$(stat -c %s "$W/hello.txt")" "$(hdr Content-Length "$W/hh.h")"
check_eq "raw: ETag = metadata etag" "$HELLO_ETAG" "$(hdr ETag "$W/hh.h")"
lm=$(hdr Last-Modified "$W/hh.h")
check "raw: Last-Modified is an HTTP date" grep -qE '^[A-Z][a-z]{2}, [0-9]{2} [A-Z][a-z]{2} [0-9]{4} [0-9:]{8} GMT$' <<<"$lm"
check_eq "raw: Last-Modified = created_at" "$(epoch "$created")" "$(epoch "$lm")"
check "raw: text is inline" grep -qE '^inline;' <<<"$(hdr Content-Disposition "$W/hh.h")"
check "raw: Content-Disposition has the name" grep -q 'filename="hello.txt"' <<<"$(hdr Content-Disposition "$W/hh.h")"
check "raw: CSP sandbox" grep -q sandbox <<<"$(hdr Content-Security-Policy "$W/hh.h")"
check_eq "raw: nosniff" nosniff "$(hdr X-Content-Type-Options "$W/hh.h")"
req bh "$BASE/$BIN_ID/raw" >/dev/null
check "raw: octet-stream is an attachment" grep -qE '^attachment;' <<<"$(hdr Content-Disposition "$W/bh.h")"
req ph "$BASE/$PNG_ID/raw" >/dev/null
check_eq "raw: image/png served as image/png" image/png "$(hdr Content-Type "$W/ph.h")"

# A hostile name: quotes, CR LF and a header of its own, a parameter break.
code=$(req hostile -X POST -H 'Content-Type: text/plain' --data-binary 'x' \
	"$BASE/api/v1/items?name=a%22b%0D%0AX%3A%20y%3B.txt")
check_eq "hostile name: accepted" 201 "$code"
HOSTILE_ID=$(json_get id "$W/hostile.body")
stored_name=$(json_get name "$W/hostile.body")
check "hostile name: stored without quote, CR, LF or ';'" no_header_breakers "$stored_name"
req hostraw "$BASE/$HOSTILE_ID/raw" >/dev/null
check_eq "hostile name: no injected header" 0 "$(hdr_count X "$W/hostraw.h")"
check_eq "hostile name: one Content-Disposition" 1 "$(hdr_count Content-Disposition "$W/hostraw.h")"
cd_value=$(hdr Content-Disposition "$W/hostraw.h")
fallback=$(sed -n 's/.*; filename="\([^"]*\)".*/\1/p' <<<"$cd_value")
star=$(sed -n "s/.*; filename\*=UTF-8''\([^; ]*\).*/\1/p" <<<"$cd_value")
check "hostile name: Content-Disposition is well formed" \
	grep -qE "^inline; filename=\"[^\"]*\"; filename\*=UTF-8''[A-Za-z0-9%!#\$&+.^_\`|~-]+\$" <<<"$cd_value"
check_eq "hostile name: filename* decodes to the stored name" "$stored_name" "$(pct_decode "$star")"
check "hostile name: fallback is printable ASCII" bash -c 'LC_ALL=C; [[ $1 =~ ^[\ -~]+$ ]]' _ "$fallback"

# A UTF-8 name: the fallback is ASCII, filename* gives the exact name back.
printf 'coffee\n' >"$W/cafe.txt"
put_file cafe "$W/cafe.txt" "$BASE/caf%C3%A9%20%E2%98%95.txt"
req caferaw "$BASE/$ID/raw" >/dev/null
cd_value=$(hdr Content-Disposition "$W/caferaw.h")
fallback=$(sed -n 's/.*; filename="\([^"]*\)".*/\1/p' <<<"$cd_value")
star=$(sed -n "s/.*; filename\*=UTF-8''\([^; ]*\).*/\1/p" <<<"$cd_value")
check_eq "UTF-8 name: filename* decodes to the name" "café ☕.txt" "$(pct_decode "$star")"
check "UTF-8 name: fallback is printable ASCII" bash -c 'LC_ALL=C; [[ $1 =~ ^[\ -~]+$ ]]' _ "$fallback"
check "UTF-8 name: header is ASCII" bash -c 'LC_ALL=C; [[ $1 =~ ^[\ -~]+$ ]]' _ "$cd_value"
curl -sS -o "$W/cafe.meta" "$BASE/api/v1/items/$ID"
check_eq "UTF-8 name: metadata name" "café ☕.txt" "$(json_get name "$W/cafe.meta")"

# --- Conditional requests and HEAD -------------------------------------------
code=$(req inm -H "If-None-Match: $HELLO_ETAG" "$BASE/$HELLO_ID/raw")
check_eq "If-None-Match: same ETag is 304" 304 "$code"
check_eq "304 has no body" 0 "$(stat -c %s "$W/inm.body")"
check_eq "304 repeats the ETag" "$HELLO_ETAG" "$(hdr ETag "$W/inm.h")"
check_eq "If-None-Match: weak form is 304" 304 "$(req inm2 -H "If-None-Match: W/$HELLO_ETAG" "$BASE/$HELLO_ID/raw")"
check_eq "If-None-Match: in a list is 304" 304 \
	"$(req inm3 -H "If-None-Match: \"nope\", $HELLO_ETAG" "$BASE/$HELLO_ID/raw")"
check_eq "If-None-Match: * is 304" 304 "$(req inm4 -H 'If-None-Match: *' "$BASE/$HELLO_ID/raw")"
check_eq "If-None-Match: other ETag is 200" 200 "$(req inm5 -H 'If-None-Match: "1-0000000000000000"' "$BASE/$HELLO_ID/raw")"
cmp -s "$W/hello.txt" "$W/inm5.body"
check "If-None-Match: other ETag gets the content" test $? = 0
check_eq "If-None-Match on an unknown id is 404" 404 \
	"$(req inm6 -H "If-None-Match: $HELLO_ETAG" "$BASE/$NO_ID/raw")"

# HEAD over a raw socket, so that a body sent by mistake would be seen.
raw_http() { # REQUEST-TEXT: the whole answer of a Connection: close request
	local fd
	exec {fd}<>"/dev/tcp/127.0.0.1/$PORT" || return 1
	printf '%b' "$1" >&"$fd"
	timeout 10 cat <&"$fd"
	exec {fd}>&-
}
raw_http "HEAD /$HELLO_ID/raw HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >"$W/head.out"
check "HEAD: 200" grep -q '^HTTP/1.1 200' "$W/head.out"
check_eq "HEAD: Content-Length of the item" "$(stat -c %s "$W/hello.txt")" "$(hdr Content-Length "$W/head.out")"
check_eq "HEAD: ETag" "$HELLO_ETAG" "$(hdr ETag "$W/head.out")"
check_eq "HEAD: nothing after the headers" $'\r' "$(tail -n1 "$W/head.out")"
raw_http "HEAD /$BIG_ID HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" >"$W/headbig.out"
check "HEAD of 10 MiB: no body" test "$(stat -c %s "$W/headbig.out")" -lt 2000

# --- Metadata: never the content, never the token ----------------------------
printf 'TOP-SECRET-CONTENT-%s\n' "$RANDOM$RANDOM" >"$W/secret.txt"
create sec -H 'Content-Type: text/plain' --data-binary @"$W/secret.txt" "$BASE/api/v1/items"
SEC_ID=$ID
SEC_TOKEN=$TOKEN
code=$(req meta "$BASE/api/v1/items/$SEC_ID")
check_eq "metadata: 200" 200 "$code"
check_eq "metadata: JSON" application/json "$(hdr Content-Type "$W/meta.h" | cut -d';' -f1)"
check_eq "metadata: id" "$SEC_ID" "$(json_get id "$W/meta.body")"
check "metadata: no content" bash -c '! grep -q TOP-SECRET "$1"' _ "$W/meta.body"
check "metadata: no owner_token field" bash -c '! grep -q owner_token "$1"' _ "$W/meta.body"
check "metadata: no token value" bash -c '! grep -qF -- "$2" "$1"' _ "$W/meta.body" "$SEC_TOKEN"
check_eq "metadata: UPPER-CASE id" 200 "$(req metau "$BASE/api/v1/items/$(tr '[:lower:]' '[:upper:]' <<<"$SEC_ID")")"

# --- The item page: escaped, strict CSP --------------------------------------
html_accept='Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
# A name with a path keeps only its last component; what is left is escaped.
code=$(req xss1 -X POST -H 'Content-Type: text/plain' --data-binary 'x' \
	"$BASE/api/v1/items?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E.txt")
XSS1=$(json_get id "$W/xss1.body")
code=$(req xss2 -X POST -H 'Content-Type: text/plain' --data-binary 'x' \
	"$BASE/api/v1/items?name=%3Cscript%3Ealert(1)%3Cscript%3E%26'.txt")
XSS2=$(json_get id "$W/xss2.body")
for id in "$XSS1" "$XSS2"; do
	code=$(req page -H "$html_accept" "$BASE/$id")
	check_eq "page: 200" 200 "$code"
	check_eq "page: text/html" text/html "$(hdr Content-Type "$W/page.h" | cut -d';' -f1)"
	check "page: the name's markup is not in the page" bash -c '! grep -qiE "<script>alert|alert\(1\)<" "$1"' _ "$W/page.body"
	check "page: no inline script (every <script> has a same-origin src)" no_inline_script "$W/page.body"
	csp=$(hdr Content-Security-Policy "$W/page.h")
	check "page: has a CSP" test -n "$csp"
	check "page: CSP without unsafe-inline" bash -c '[[ $1 != *unsafe-inline* && $1 != *unsafe-eval* ]]' _ "$csp"
	check "page: CSP limits scripts" grep -qE "(script-src|default-src) 'self'|default-src 'none'" <<<"$csp"
done
check "page: name is escaped" grep -qF '&lt;script&gt;alert(1)&lt;script&gt;&amp;&#39;.txt' "$W/page.body"
code=$(req page404 -H "$html_accept" "$BASE/$NO_ID")
check_eq "page: unknown id is 404" 404 "$code"

# --- QR codes ----------------------------------------------------------------
code=$(req qrsvg "$BASE/$HELLO_ID/qr.svg")
check_eq "qr.svg: 200" 200 "$code"
check_eq "qr.svg: image/svg+xml" image/svg+xml "$(hdr Content-Type "$W/qrsvg.h" | cut -d';' -f1)"
check "qr.svg: is SVG" grep -q '<svg' "$W/qrsvg.body"
code=$(req qrpng "$BASE/$HELLO_ID/qr.png")
check_eq "qr.png: image/png" image/png "$(hdr Content-Type "$W/qrpng.h")"
check_eq "qr.png: PNG magic" "89504e470d0a1a0a" "$(head -c 8 "$W/qrpng.body" | od -An -tx1 | tr -d ' \n')"
code=$(req qrtxt "$BASE/$HELLO_ID/qr.txt")
check_eq "qr.txt: text/plain" text/plain "$(hdr Content-Type "$W/qrtxt.h" | cut -d';' -f1)"
check "qr.txt: block characters" grep -qE '█|▀|▄' "$W/qrtxt.body"
check_eq "qr of an unknown id: 404" 404 "$(req qr404 "$BASE/$NO_ID/qr.svg")"

# --- Active content is never inline -----------------------------------------
printf '<html><script>alert(1)</script></html>' >"$W/evil.html"
printf '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>' >"$W/evil.svg"
for t in text/html image/svg+xml; do
	f=$W/evil.html
	[ "$t" = image/svg+xml ] && f=$W/evil.svg
	create active -H "Content-Type: $t" --data-binary @"$f" "$BASE/api/v1/items"
	req activeraw "$BASE/$ID/raw" >/dev/null
	check "$t raw is an attachment" grep -qE '^attachment;' <<<"$(hdr Content-Disposition "$W/activeraw.h")"
	check "$t raw is sandboxed" grep -q sandbox <<<"$(hdr Content-Security-Policy "$W/activeraw.h")"
	req activeid "$BASE/$ID" >/dev/null
	check "$t /{id} is an attachment" grep -qE '^attachment;' <<<"$(hdr Content-Disposition "$W/activeid.h")"
done
put_file evilput "$W/evil.html" "$BASE/evil.html"
req evilputraw "$BASE/$ID/raw" >/dev/null
check "curl -T evil.html raw is an attachment" grep -qE '^attachment;' <<<"$(hdr Content-Disposition "$W/evilputraw.h")"

# --- ttl ---------------------------------------------------------------------
for spec in 10m:600 2h:7200 7d:604800 1h30m:5400; do
	ttl=${spec%%:*}
	create "ttl$ttl" -H 'Content-Type: text/plain' --data-binary 'x' "$BASE/api/v1/items?ttl=$ttl"
	b="$W/ttl$ttl.body"
	check_eq "ttl=$ttl" "${spec##*:}" $(($(epoch "$(json_get expires_at "$b")") - $(epoch "$(json_get created_at "$b")")))
done
create ttldef -H 'Content-Type: text/plain' --data-binary 'x' "$BASE/api/v1/items"
check_eq "default ttl is 24h" 86400 \
	$(($(epoch "$(json_get expires_at "$W/ttldef.body")") - $(epoch "$(json_get created_at "$W/ttldef.body")")))
for ttl in abc 0 8d -5 10x 5m3; do
	code=$(req "badttl" -X POST -H 'Content-Type: text/plain' --data-binary 'x' "$BASE/api/v1/items?ttl=$ttl")
	check_eq "ttl=$ttl: 400" 400 "$code"
	check "ttl=$ttl: JSON error with a message" is_error_json "$W/badttl.body" bad_request
done
check_eq "X-Linksync-Ttl: abc: 400" 400 \
	"$(req badttlh -X POST -H 'X-Linksync-Ttl: abc' --data-binary 'x' "$BASE/api/v1/items")"
check "ttl over the max names the max" grep -q '7d' <<<"$(
	curl -sS -X POST --data-binary x "$BASE/api/v1/items?ttl=8d")"

# --- reads -------------------------------------------------------------------
create r1 -H 'Content-Type: text/plain' --data-binary 'read me once' "$BASE/api/v1/items?reads=1"
check_eq "reads=1: reads_left" 1 "$(json_get reads_left "$W/r1.body")"
R1=$ID
check_eq "reads=1: HEAD is 200" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -I "$BASE/$R1/raw")"
check_eq "reads=1: HEAD again is 200 (HEAD consumes nothing)" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -I "$BASE/$R1")"
check_eq "reads=1: the page consumes nothing" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -H "$html_accept" "$BASE/$R1")"
check_eq "reads=1: metadata consumes nothing" 1 "$(curl -sS "$BASE/api/v1/items/$R1" | tr -d '\n' | grep -oE '"reads_left": *[0-9]+' | grep -oE '[0-9]+$')"
check_eq "reads=1: qr consumes nothing" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$R1/qr.svg")"
etag=$(curl -sSI "$BASE/$R1/raw" | sed -n 's/^ETag: *//Ip' | tr -d '\r')
check_eq "reads=1: 304 consumes nothing" 304 "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" "$BASE/$R1/raw")"
code=$(req r1get "$BASE/$R1/raw")
check_eq "reads=1: first GET is 200" 200 "$code"
check_eq "reads=1: first GET has the content" "read me once" "$(cat "$W/r1get.body")"
check "reads=1: limited content is not cached" grep -q no-store <<<"$(hdr Cache-Control "$W/r1get.h")"
check_eq "reads=1: second GET is 404" 404 "$(req r1get2 "$BASE/$R1/raw")"
check_eq "reads=1: then the metadata is 404" 404 "$(req r1meta "$BASE/api/v1/items/$R1")"
check_eq "reads=1: the row is gone" 0 "$(db_has_item "$R1")"
create r2 -H 'Content-Type: text/plain' -H 'X-Linksync-Reads: 2' --data-binary 'twice' "$BASE/api/v1/items"
R2=$ID
check_eq "reads=2: GET /{id}" twice "$(curl -sS "$BASE/$R2")"
check_eq "reads=2: one left" 1 "$(curl -sS "$BASE/api/v1/items/$R2" | tr -d '\n' | grep -oE '"reads_left": *[0-9]+' | grep -oE '[0-9]+$')"
check_eq "reads=2: GET /{id}/name" twice "$(curl -sS "$BASE/$R2/any.txt")"
check_eq "reads=2: third is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$R2/raw")"
for r in abc -1 1.5 1000001 ''; do
	check_eq "reads='$r': 400" 400 "$(req badreads -X POST --data-binary x "$BASE/api/v1/items?reads=$r")"
done
create r0 -H 'Content-Type: text/plain' --data-binary 'x' "$BASE/api/v1/items?reads=0"
check_eq "reads=0 is unlimited" null "$(json_get reads_left "$W/r0.body")"
# Forty readers at once for one read: exactly one gets it.
create race -H 'Content-Type: text/plain' --data-binary 'only one' "$BASE/api/v1/items?reads=1"
RACE=$ID
pids=()
for i in $(seq 1 40); do
	curl -sS -o /dev/null -w '%{http_code}\n' "$BASE/$RACE/raw" >"$W/race.$i" &
	pids+=($!)
done
wait "${pids[@]}"
check_eq "reads=1 with 40 concurrent readers: exactly one 200" 1 "$(cat "$W"/race.* | grep -c '^200$')"
check_eq "reads=1 with 40 concurrent readers: the others 404" 39 "$(cat "$W"/race.* | grep -c '^404$')"

# --- Owner update and delete -------------------------------------------------
printf 'version one\n' >"$W/v1.txt"
printf 'version two, longer\n' >"$W/v2.txt"
create own -H 'Content-Type: text/plain' --data-binary @"$W/v1.txt" "$BASE/api/v1/items?name=doc.txt"
OWN=$ID
OWN_TOKEN=$TOKEN
etag1=$(json_get etag "$W/own.body")
code=$(req upd-no -X PUT -H 'Content-Type: text/plain' --data-binary @"$W/v2.txt" "$BASE/api/v1/items/$OWN")
check_eq "update without token: 401" 401 "$code"
check "update without token: JSON error" is_error_json "$W/upd-no.body" unauthorized
code=$(req upd-bad -X PUT -H "Authorization: Bearer $WRONG_TOKEN" -H 'Content-Type: text/plain' \
	--data-binary @"$W/v2.txt" "$BASE/api/v1/items/$OWN")
check_eq "update with a wrong token: 403" 403 "$code"
check "update with a wrong token: JSON error" is_error_json "$W/upd-bad.body" forbidden
code=$(req upd-bad2 -X PUT -H "Authorization: Bearer $HELLO_TOKEN" -H 'Content-Type: text/plain' \
	--data-binary @"$W/v2.txt" "$BASE/api/v1/items/$OWN")
check_eq "update with another item's token: 403" 403 "$code"
cmp -s "$W/v1.txt" <(curl -sS "$BASE/$OWN/raw")
check "refused updates changed nothing: content" test $? = 0
curl -sS -o "$W/own.meta" "$BASE/api/v1/items/$OWN"
check_eq "refused updates changed nothing: version" 1 "$(json_get version "$W/own.meta")"
check_eq "refused updates changed nothing: etag" "$etag1" "$(json_get etag "$W/own.meta")"
sleep 1 # so that updated_at moves
code=$(req upd -X PUT -H "Authorization: Bearer $OWN_TOKEN" -H 'Content-Type: text/plain' \
	--data-binary @"$W/v2.txt" "$BASE/api/v1/items/$OWN")
check_eq "update with the token: 200" 200 "$code"
check_eq "update: version 2" 2 "$(json_get version "$W/upd.body")"
etag2=$(json_get etag "$W/upd.body")
check "update: new ETag" test -n "$etag2" -a "$etag2" != "$etag1"
check_eq "update: size" "$(stat -c %s "$W/v2.txt")" "$(json_get size "$W/upd.body")"
check_eq "update: name kept" doc.txt "$(json_get name "$W/upd.body")"
check "update: answer has no owner_token" bash -c '! grep -q owner_token "$1"' _ "$W/upd.body"
check "update: updated_at moved" test "$(epoch "$(json_get updated_at "$W/upd.body")")" -gt \
	"$(epoch "$(json_get created_at "$W/upd.body")")"
req ownraw "$BASE/$OWN/raw" >/dev/null
cmp -s "$W/v2.txt" "$W/ownraw.body"
check "update: new content served" test $? = 0
check_eq "update: raw ETag is the new one" "$etag2" "$(hdr ETag "$W/ownraw.h")"
check_eq "update: old ETag no longer matches" 200 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag1" "$BASE/$OWN/raw")"
check_eq "update: new ETag matches" 304 \
	"$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag2" "$BASE/$OWN/raw")"
check_eq "update: lower-case bearer scheme" 200 "$(req upd3 -X PUT -H "authorization: bearer $OWN_TOKEN" \
	-H 'Content-Type: text/plain' --data-binary 'v3' "$BASE/api/v1/items/$OWN")"
check_eq "update: version 3" 3 "$(json_get version "$W/upd3.body")"
check_eq "update of an unknown id: 404" 404 "$(req upd404 -X PUT -H "Authorization: Bearer $OWN_TOKEN" \
	--data-binary 'x' "$BASE/api/v1/items/$NO_ID")"

# An update sent like an upload (curl -T, no Content-Type) keeps the item's
# name and so its type: notes.txt stays a note.
printf 'new notes\n' >"$W/notes2"
code=$(req updt -T "$W/notes2" -H "Authorization: Bearer $(json_get owner_token "$W/putjson.body")" \
	"$BASE/api/v1/items/$(json_get id "$W/putjson.body")")
check_eq "update by curl -T: 200" 200 "$code"
check_eq "update by curl -T: name kept" x.txt "$(json_get name "$W/updt.body")"
check_eq "update by curl -T: type still from the name" "text/plain; charset=utf-8" "$(json_get type "$W/updt.body")"
check_eq "update by curl -T: kind still note" note "$(json_get kind "$W/updt.body")"

# An update that changes the type: kind must follow type (or be refused).
code=$(req updk -X PUT -H "Authorization: Bearer $CAL_TOKEN" -H 'Content-Type: text/plain' \
	--data-binary 'not a calendar any more' "$BASE/api/v1/items/$CAL_ID")
curl -sS -o "$W/updk.meta" "$BASE/api/v1/items/$CAL_ID"
k=$(json_get kind "$W/updk.meta")
t=$(json_get type "$W/updk.meta")
check "update that changes the type keeps kind and type consistent (kind=$k type=$t, HTTP $code)" \
	bash -c '[[ ($1 == note && $2 == text/plain*) || ($1 == calendar && $2 == text/calendar*) ]]' _ "$k" "$t"

code=$(req del-no -X DELETE "$BASE/api/v1/items/$OWN")
check_eq "delete without token: 401" 401 "$code"
code=$(req del-bad -X DELETE -H "Authorization: Bearer $WRONG_TOKEN" "$BASE/api/v1/items/$OWN")
check_eq "delete with a wrong token: 403" 403 "$code"
check_eq "refused deletes: still there" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$OWN")"
code=$(req del -X DELETE -H "Authorization: Bearer $OWN_TOKEN" "$BASE/api/v1/items/$OWN")
check_eq "delete with the token: 204" 204 "$code"
check_eq "delete: empty body" 0 "$(stat -c %s "$W/del.body")"
check_eq "deleted: raw is 404" 404 "$(req deleted "$BASE/$OWN/raw")"
check_eq "deleted: metadata is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$OWN")"
check_eq "deleted: page is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -H "$html_accept" "$BASE/$OWN")"
check_eq "deleted: qr is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$OWN/qr.png")"
check_eq "deleted: delete again is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE \
	-H "Authorization: Bearer $OWN_TOKEN" "$BASE/api/v1/items/$OWN")"
check_eq "deleted: update is 404" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT \
	-H "Authorization: Bearer $OWN_TOKEN" --data-binary x "$BASE/api/v1/items/$OWN")"
check_eq "deleted: the row is gone" 0 "$(db_has_item "$OWN")"

# --- 404: the same answer for every kind of missing --------------------------
req nf-unknown "$BASE/$NO_ID" >"$W/nf-unknown.code"
req nf-malformed "$BASE/not-an-id" >"$W/nf-malformed.code"
req nf-short "$BASE/abc/raw" >"$W/nf-short.code"
req nf-api "$BASE/api/v1/items/xyz" >"$W/nf-api.code"
req nf-api2 "$BASE/api/v1/items/$NO_ID" >"$W/nf-api2.code"
req nf-other "$BASE/api/v2/things" >"$W/nf-other.code"
req nf-suffix "$BASE/$HELLO_ID/raw/extra" >"$W/nf-suffix.code"
req nf-deleted "$BASE/$OWN/raw" >"$W/nf-deleted.code"
req nf-usedup "$BASE/$R1/raw" >"$W/nf-usedup.code"
for n in unknown malformed short api api2 other suffix deleted usedup; do
	check_eq "404 $n" 404 "$(cat "$W/nf-$n.code")"
	check_eq "404 $n: JSON" application/json "$(hdr Content-Type "$W/nf-$n.h" | cut -d';' -f1)"
	cmp -s "$W/nf-unknown.body" "$W/nf-$n.body"
	check "404 $n: same body as an unknown id" test $? = 0
done
check "404 body is the JSON error" is_error_json "$W/nf-unknown.body" not_found

# --- 405 with Allow ----------------------------------------------------------
check405() { # DESCRIPTION ALLOW-PATTERN CURL-ARGS...
	local what=$1 allow=$2 code
	shift 2
	code=$(req m405 "$@")
	check_eq "405 $what" 405 "$code"
	check "405 $what: Allow header ($(hdr Allow "$W/m405.h"))" grep -qE "$allow" <<<"$(hdr Allow "$W/m405.h")"
	check "405 $what: JSON error" is_error_json "$W/m405.body" method_not_allowed
}
check405 "DELETE /healthz" '^GET' -X DELETE "$BASE/healthz"
check405 "POST /healthz" '^GET' -X POST --data-binary x "$BASE/healthz"
check405 "GET /api/v1/items" 'POST' "$BASE/api/v1/items"
check405 "DELETE /api/v1/items" 'POST' -X DELETE "$BASE/api/v1/items"
check405 "POST /{id}" 'GET' -X POST --data-binary x "$BASE/$HELLO_ID"
check405 "DELETE /{id}" 'GET' -X DELETE "$BASE/$HELLO_ID"
check405 "POST /api/v1/items/{id}" 'DELETE' -X POST --data-binary x "$BASE/api/v1/items/$HELLO_ID"
check405 "DELETE /" 'PUT' -X DELETE "$BASE/"
check_eq "GET /healthz" ok "$(curl -sS "$BASE/healthz")"
check_eq "HEAD /healthz" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -I "$BASE/healthz")"

# --- A rejected request stores nothing ---------------------------------------
before=$(rows)
check_eq "bad ttl: 400" 400 "$(req rej -X POST --data-binary x "$BASE/api/v1/items?ttl=abc")"
check_eq "bad reads: 400" 400 "$(req rej -X POST --data-binary x "$BASE/api/v1/items?reads=x")"
check_eq "bad Content-Type: 400" 400 "$(req rej -X POST -H 'Content-Type: not a type' --data-binary x "$BASE/api/v1/items")"
check "bad Content-Type: JSON error" is_error_json "$W/rej.body" bad_request
check_eq "name not UTF-8: 400" 400 "$(req rej -X POST --data-binary x "$BASE/api/v1/items?name=%FF%FE.txt")"
check_eq "PUT with bad ttl: 400" 400 "$(req rej -T "$W/hello.txt" "$BASE/x.txt?ttl=0")"
head -c $((12 * 1024 * 1024 + 1)) /dev/zero >"$W/toobig"
check_eq "over --max-size: 413" 413 "$(req rej -X POST --data-binary @"$W/toobig" "$BASE/api/v1/items")"
check "413: JSON error" is_error_json "$W/rej.body" too_large
check_eq "update over --max-size: 413" 413 "$(req rej -X PUT -H "Authorization: Bearer $HELLO_TOKEN" \
	--data-binary @"$W/toobig" "$BASE/api/v1/items/$HELLO_ID")"
check_eq "rejected requests stored nothing (400, 413)" "$before" "$(rows)"
# Content that is not what its type says: 422, and nothing stored.
before=$(rows)
code=$(req rej -X POST -H 'Content-Type: text/calendar' --data-binary 'this is not a calendar' "$BASE/api/v1/items")
check_eq "text/calendar that is not iCalendar: 422" 422 "$code"
code=$(req rej -X POST -H 'Content-Type: text/vcard' --data-binary 'nor is this a vCard' "$BASE/api/v1/items")
check_eq "text/vcard that is not a vCard: 422" 422 "$code"
check_eq "invalid content stored nothing" "$before" "$(rows)"
check_eq "HELLO unchanged after the refused update" "$HELLO_ETAG" "$(curl -sSI "$BASE/$HELLO_ID/raw" | sed -n 's/^ETag: *//Ip' | tr -d '\r')"

# --- Answers that carry an owner token are never cached ----------------------
req tokjson -X POST --data-binary x "$BASE/api/v1/items" >/dev/null
check "201 JSON (with owner_token): Cache-Control no-store" grep -q no-store <<<"$(hdr Cache-Control "$W/tokjson.h")"
req toktext -X POST -H 'Accept: text/plain' --data-binary x "$BASE/api/v1/items" >/dev/null
check_eq "201 text: owner token in X-Linksync-Owner-Token" 43 "$(hdr X-Linksync-Owner-Token "$W/toktext.h" | tr -d '\n' | wc -c)"
check "201 text (with X-Linksync-Owner-Token): Cache-Control no-store" \
	grep -q no-store <<<"$(hdr Cache-Control "$W/toktext.h")"
req tokput -T "$W/hello.txt" "$BASE/t.txt" >/dev/null
check "201 of curl -T (with X-Linksync-Owner-Token): Cache-Control no-store" \
	grep -q no-store <<<"$(hdr Cache-Control "$W/tokput.h")"
req dl "$BASE/$HELLO_ID/raw?download=1" >/dev/null
check "raw?download=1 makes text an attachment" grep -qE '^attachment;' <<<"$(hdr Content-Disposition "$W/dl.h")"

# --- Real-world calendars and contacts ---------------------------------------
# Every file of the shared corpus (valid, broken, huge) is either stored (201)
# or refused with a 422 that says why; never a 5xx, a hang or a crash. Stored
# ones render a page and come back byte-identical.
CORPUS=${LKS_CORPUS:-$LKS_SRC/../shared/corpus}
if [ -d "$CORPUS" ]; then
	n_files=0
	n_stored=0
	n_refused=0
	bad=0
	while IFS= read -r -d '' f; do
		case $f in
		*.ics) t=text/calendar ;;
		*) t=text/vcard ;;
		esac
		n_files=$((n_files + 1))
		code=$(req corpus -X POST -H "Content-Type: $t" -H 'Accept: text/plain' \
			--data-binary @"$f" "$BASE/api/v1/items" 2>/dev/null)
		if [ "$code" = 422 ] && is_error_json "$W/corpus.body" invalid_content; then
			n_refused=$((n_refused + 1))
			continue
		fi
		if [ "$code" != 201 ]; then
			bad=$((bad + 1))
			echo "  corpus ${f#"$CORPUS"/}: HTTP $code $(head -c 200 "$W/corpus.body")"
			continue
		fi
		n_stored=$((n_stored + 1))
		id=$(tr -d '\n' <"$W/corpus.body" | sed 's#.*/##')
		pcode=$(curl -sS --max-time 30 -o /dev/null -w '%{http_code}' -H "$html_accept" "$BASE/$id" 2>/dev/null)
		curl -sS --max-time 30 -o "$W/corpus.raw" "$BASE/$id/raw" 2>/dev/null
		if [ "$pcode" != 200 ] || ! cmp -s "$f" "$W/corpus.raw"; then
			bad=$((bad + 1))
			echo "  corpus ${f#"$CORPUS"/}: page HTTP $pcode, raw identical: $(cmp -s "$f" "$W/corpus.raw" && echo yes || echo no)"
		fi
	done < <(find "$CORPUS" -type f \( -name '*.ics' -o -name '*.vcf' \) -print0 | sort -z)
	echo "# corpus: $n_files files, $n_stored stored, $n_refused refused with 422"
	check "corpus: $n_files files pushed" test "$n_files" -gt 0
	check_eq "corpus: every file is stored (page and raw fine) or refused with a 422" 0 "$bad"
else
	echo "# corpus not found at $CORPUS: skipped"
fi

# ---------------------------------------------------------------------------
# A clean stop, and nothing from the sanitizers.
check "server still running before its stop" kill -0 "$SERVER_PID"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check_eq "SIGTERM: clean exit" 0 "$?"
SERVER_PID=""

# --- The public URL: derived from the listen address, or from the environment
start
code=$(req derived -X POST -H 'Accept: text/plain' --data-binary x "$BASE/api/v1/items")
check "no --public-url: the URL uses the listen address" grep -qE "^$BASE/[a-z2-7]{26}\$" "$W/derived.body"
check "no --public-url on loopback: a warning in the log" grep -q 'loopback' "$SERVER_LOG"
stop_server TERM
LINKSYNC_PUBLIC_URL=http://env.test/base/ start
code=$(req envurl -X POST -H 'Accept: text/plain' --data-binary x "$BASE/api/v1/items")
check "LINKSYNC_PUBLIC_URL (trailing slash dropped) is used" grep -qE '^http://env\.test/base/[a-z2-7]{26}$' "$W/envurl.body"
kill -TERM "$SERVER_PID"
wait "$SERVER_PID"
check_eq "SIGTERM: clean exit" 0 "$?"
SERVER_PID=""

# --- Bad configuration is refused at start -----------------------------------
for bad in "--max-size 0" "--max-size 3G" "--timeout 0" "--max-ttl abc" "--threads x" \
	"--public-url ftp://x" "--listen nohost:99999" "--bogus"; do
	# shellcheck disable=SC2086 # the flags are split on purpose
	timeout 10 "$LINKSYNCD" --listen 127.0.0.1:0 --store "sqlite:$TMP/bad.db" $bad >"$W/bad.out" 2>&1
	rc=$?
	check "linksyncd $bad: refused with a message (exit $rc)" \
		test "$rc" -ne 0 -a "$rc" -ne 124 -a -s "$W/bad.out"
done
for log in "${LOGS[@]}"; do
	check "no sanitizer report in $(basename "$log")" \
		bash -c '! grep -qE "ERROR: (Address|Leak|Thread)Sanitizer|runtime error:" "$1"' _ "$log"
done
if [ "$FAILED" -gt 0 ]; then
	for log in "${LOGS[@]}"; do
		echo "--- $log"
		cat "$log"
	done
fi
finish
