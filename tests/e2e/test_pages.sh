#!/usr/bin/env bash
# End-to-end tests of the second terminal's page and downloads, against the
# real linksyncd: what the page of an event, a contact, a note and a file
# shows; hostile titles, names and notes appear only escaped; the CSP; the
# calendar feed (/{id}.ics: refresh hints, validators, 304), the contact as
# vCard 3.0 (/{id}.vcf), "Add to calendar" as a 303; read-limited items (a
# plain GET consumes nothing, POST /{id}/open consumes one); the 404 page.
# The .ics and .vcf handed to phones are read back by independent parsers:
# Debian's python3-icalendar and python3-vobject (run with /usr/bin/python3,
# which has the Debian modules).
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

W="$TMP/work"
mkdir -p "$W"
PY=/usr/bin/python3
HTML='Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'
XSS1='<script>alert(1)</script>'
XSS2='"><img src=x onerror=alert(1)>'

hdr() { sed -n "s/^$1:[[:space:]]*//Ip" "$2" | tr -d '\r' | tail -n1; }
status_of() { sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$1"; }

# post NAME TYPE FILE [QUERY]: creates an item; sets ID and TOKEN.
post() {
	curl -sS -o "$W/$1.json" -H "Content-Type: $2" -H 'Accept: application/json' \
		--data-binary @"$3" "$BASE/api/v1/items${4:-}"
	ID=$(sed -n 's/^ *"id": "\([a-z0-9]*\)".*/\1/p' "$W/$1.json")
	TOKEN=$(sed -n 's/^ *"owner_token": "\([^"]*\)".*/\1/p' "$W/$1.json")
	[ -n "$ID" ] || { echo "create failed: $(cat "$W/$1.json")" >&2; }
}
# page NAME URL [CURL ARGS]: a browser's GET; headers in NAME.h, body in NAME.html.
page() {
	local name=$1 url=$2
	shift 2
	curl -sS -D "$W/$name.h" -o "$W/$name.html" -H "$HTML" "$@" "$url"
}
reads_left() {
	curl -sS "$BASE/api/v1/items/$1" | sed -n 's/^ *"reads_left": \([^,]*\),*/\1/p'
}
has() { grep -qF -- "$2" "$W/$1.html"; }
lacks() { ! grep -qF -- "$2" "$W/$1.html"; }
# safe_page NAME: escaped hostile strings, and in the page's markup (every
# tag: user text has no '<' left) no inline script, style or handler.
safe_page() {
	local f="$W/$1.html" tags="$W/$1.tags"
	grep -oE '<[^>]*>' "$f" >"$tags"
	! grep -qF "$XSS1" "$f" && ! grep -qF '<img src=x' "$f" &&
		! grep -qiE '<script[^>]*>[^<]' "$f" && ! grep -qiE '<script>' "$f" &&
		! grep -qiE '[[:space:]]on[a-z]+=' "$tags" && ! grep -qiE '[[:space:]]style=' "$tags" &&
		! grep -qiE '<style' "$tags" && ! grep -qiE '(href|src)="javascript:' "$tags"
}
check_csp() {
	local csp
	csp=$(hdr Content-Security-Policy "$W/$1.h")
	check "$1: has a CSP" test -n "$csp"
	check "$1: CSP without unsafe-inline or unsafe-eval" \
		bash -c '[[ $1 != *unsafe-inline* && $1 != *unsafe-eval* ]]' _ "$csp"
	check "$1: CSP allows only same-origin script" grep -qF "script-src 'self'" <<<"$csp"
}

start_server --public-url http://lks.test:8080

if ! "$PY" -c 'import icalendar, vobject' 2>/dev/null; then
	fail "python3-icalendar and python3-vobject are needed (apt-get install -y python3-icalendar python3-vobject)"
	finish
fi

# --- An event ---------------------------------------------------------------
cat >"$W/event.ics" <<EOF
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//linksync tests//EN
BEGIN:VEVENT
UID:e1@linksync.test
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Paris:20270301T123000
DTEND;TZID=Europe/Paris:20270301T140000
SUMMARY:$XSS1
LOCATION:$XSS2
DESCRIPTION:Bring the slides\\nand coffee
RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270601T000000Z
END:VEVENT
BEGIN:VEVENT
UID:e2@linksync.test
DTSTAMP:20270101T000000Z
DTSTART;VALUE=DATE:20270306
DTEND;VALUE=DATE:20270308
SUMMARY:Weekend away
END:VEVENT
BEGIN:VTODO
UID:t1@linksync.test
DTSTAMP:20270101T000000Z
DUE:20270305T170000Z
SUMMARY:Buy milk
END:VTODO
END:VCALENDAR
EOF
post event 'text/calendar' "$W/event.ics"
EV=$ID
EV_TOKEN=$TOKEN
page event "$BASE/$EV"
check_eq "event page: 200" 200 "$(status_of "$W/event.h")"
check_eq "event page: HTML" "text/html; charset=utf-8" "$(hdr Content-Type "$W/event.h")"
check_csp event
check "event page: hostile fields only escaped" safe_page event
check "event page: title escaped" has event '&lt;script&gt;alert(1)&lt;/script&gt;'
check "event page: place escaped" has event '&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'
check "event page: date and time in its zone" has event 'Monday 1 March 2027, 12:30</time> – '
check "event page: end time" has event '>14:00</time>'
check "event page: zone's name" has event '(Europe/Paris)'
check "event page: UTC instant for the local-time hint" has event 'datetime="2027-03-01T11:30:00Z"'
check "event page: recurrence in words" has event 'Repeats every week on Monday until 1 June 2027'
check "event page: notes with their line break" has event "Bring the slides"
check "event page: all-day dates" has event 'Saturday 6 March 2027</time> – <time datetime="2027-03-07">Sunday 7 March 2027</time> <span class="zone">(all day)'
check "event page: to-do with its due date" has event 'due <time datetime="2027-03-05T17:00:00Z"'
check "event page: Add to calendar" has event "href=\"/$EV/add-to-calendar\">Add to calendar</a>"
check "event page: Subscribe (webcal)" has event "href=\"webcal://lks.test:8080/$EV.ics\">Subscribe</a>"
check "event page: Google Calendar by URL" has event "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Flks.test%3A8080%2F$EV.ics"
check "event page: expiry" has event 'This link expires on '
check "event page: the QR code again" has event "src=\"/$EV/qr.svg\""
check "event page: the link" has event "http://lks.test:8080/$EV</a>"
check "event page: the page's own assets" bash -c 'grep -qF "/static/item.js" "$1" && grep -qF "/static/item.css" "$1"' _ "$W/event.html"

curl -sS -D "$W/add.h" -o /dev/null "$BASE/$EV/add-to-calendar"
check_eq "add to calendar: 303" 303 "$(status_of "$W/add.h")"
check_eq "add to calendar: to the .ics" "/$EV.ics" "$(hdr Location "$W/add.h")"

curl -sS -D "$W/feed.h" -o "$W/feed.ics" "$BASE/$EV.ics"
check_eq "feed: 200" 200 "$(status_of "$W/feed.h")"
check_eq "feed: text/calendar" "text/calendar; charset=utf-8" "$(hdr Content-Type "$W/feed.h")"
check "feed: attachment with a .ics name" grep -qE '^attachment; filename="[^"]+\.ics"' <<<"$(hdr Content-Disposition "$W/feed.h")"
check "feed: REFRESH-INTERVAL" grep -qE '^REFRESH-INTERVAL;VALUE=DURATION:PT' "$W/feed.ics"
check "feed: X-PUBLISHED-TTL" grep -qE '^X-PUBLISHED-TTL:PT' "$W/feed.ics"
check "feed: the stored events" grep -qF 'UID:e1@linksync.test' "$W/feed.ics"
ETAG=$(hdr ETag "$W/feed.h")
check "feed: ETag" test -n "$ETAG"
check "feed: Last-Modified" test -n "$(hdr Last-Modified "$W/feed.h")"
check_eq "feed: 304 on If-None-Match" 304 "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $ETAG" "$BASE/$EV.ics")"
check_eq "feed: HEAD" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -I "$BASE/$EV.ics")"
check_eq "feed: any case of the id" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/${EV^^}.ics")"
"$PY" - "$W/feed.ics" >"$W/feed.py" 2>&1 <<'EOF'
import sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
events = [c for c in cal.walk('VEVENT')]
todos = [c for c in cal.walk('VTODO')]
assert len(events) == 2 and len(todos) == 1, (len(events), len(todos))
assert str(events[0]['SUMMARY']) == '<script>alert(1)</script>'
start = events[0].decoded('DTSTART')
assert start.hour == 12 and start.minute == 30 and 'Paris' in str(start.tzinfo), start
assert 'REFRESH-INTERVAL' in cal and 'X-PUBLISHED-TTL' in cal
print('ok')
EOF
check "feed: python3-icalendar reads it" grep -qx ok "$W/feed.py" || cat "$W/feed.py"

# An update is a new version: the old ETag no longer matches.
sed 's/Weekend away/Long weekend/' "$W/event.ics" >"$W/event2.ics"
curl -sS -o /dev/null -X PUT -H "Authorization: Bearer $EV_TOKEN" -H 'Content-Type: text/calendar' \
	--data-binary @"$W/event2.ics" "$BASE/api/v1/items/$EV"
curl -sS -D "$W/feed2.h" -o "$W/feed2.ics" -H "If-None-Match: $ETAG" "$BASE/$EV.ics"
check_eq "feed: 200 after an update" 200 "$(status_of "$W/feed2.h")"
check "feed: the new version" grep -qF 'Long weekend' "$W/feed2.ics"

# --- A contact --------------------------------------------------------------
PNG=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==
printf 'BEGIN:VCARD\r\nVERSION:4.0\r\nFN:%s\r\nN:Doe;Jane;;;\r\nORG:%s;R&D\r\nTEL;TYPE=cell;VALUE=uri:tel:+33-6-12-34-56-78\r\nEMAIL;TYPE=work:jane@example.org\r\nADR;TYPE=home:;;12 Rue de la Paix;Paris;;75002;France\r\nNOTE:%s\r\nPHOTO:data:image/png;base64,%s\r\nEND:VCARD\r\n' \
	"$XSS1" "$XSS2" "$XSS2" "$PNG" >"$W/card.vcf"
post card 'text/vcard' "$W/card.vcf"
CARD=$ID
page card "$BASE/$CARD"
check_eq "contact page: 200" 200 "$(status_of "$W/card.h")"
check_csp card
check "contact page: hostile fields only escaped" safe_page card
check "contact page: name escaped" has card '<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>'
check "contact page: organisation" has card 'R&amp;D'
check "contact page: phone as a tel: link" has card '<a href="tel:+33612345678">+33-6-12-34-56-78</a>'
check "contact page: email as a mailto: link" has card '<a href="mailto:jane@example.org">jane@example.org</a>'
check "contact page: address" has card '12 Rue de la Paix'
check "contact page: photo inline as a safe image" has card "src=\"data:image/png;base64,$PNG\""
check "contact page: Save contact" has card "href=\"/$CARD.vcf\">Save contact</a>"
curl -sS -D "$W/vcf.h" -o "$W/card30.vcf" "$BASE/$CARD.vcf"
check_eq "vcf: 200" 200 "$(status_of "$W/vcf.h")"
check_eq "vcf: text/vcard" "text/vcard; charset=utf-8" "$(hdr Content-Type "$W/vcf.h")"
check "vcf: attachment with a .vcf name" grep -qE '^attachment; filename="[^"/]+\.vcf"' <<<"$(hdr Content-Disposition "$W/vcf.h")"
check "vcf: vCard 3.0" grep -qx $'VERSION:3.0\r' "$W/card30.vcf"
check_eq "vcf: 304 on If-None-Match" 304 "$(curl -sS -o /dev/null -w '%{http_code}' -H "If-None-Match: $(hdr ETag "$W/vcf.h")" "$BASE/$CARD.vcf")"
"$PY" - "$W/card30.vcf" >"$W/vcf.py" 2>&1 <<'EOF'
import sys, vobject
card = vobject.readOne(open(sys.argv[1], encoding='utf-8').read())
assert card.version.value == '3.0', card.version.value
assert card.fn.value == '<script>alert(1)</script>', card.fn.value
assert card.n.value.family == 'Doe' and card.n.value.given == 'Jane'
assert card.tel.value.replace('-', '') == '+33612345678', card.tel.value
assert card.email.value == 'jane@example.org'
assert card.adr.value.city == 'Paris'
assert card.photo.value[:8] == b'\x89PNG\r\n\x1a\n'
print('ok')
EOF
check "vcf: python3-vobject reads it" grep -qx ok "$W/vcf.py" || cat "$W/vcf.py"

# --- A note -----------------------------------------------------------------
printf 'Wi-Fi: %s\n%s\nline 3\n' "$XSS1" "$XSS2" >"$W/note.txt"
post note 'text/plain' "$W/note.txt"
NOTE=$ID
page note "$BASE/$NOTE"
check_csp note
check "note page: hostile text only escaped" safe_page note
check "note page: the text" has note 'Wi-Fi: &lt;script&gt;alert(1)&lt;/script&gt;'
check "note page: the text keeps its lines" has note $'&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\nline 3'
check "note page: a Copy button (shown by item.js)" has note 'data-copy="note-text" hidden>Copy</button>'
check "note page: Download" has note "href=\"/$NOTE/raw?download=1\""
check_eq "note: .ics is only for calendars" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$NOTE.ics")"
check_eq "note: .vcf is only for contacts" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$NOTE.vcf")"
check_eq "event: .vcf is only for contacts" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$EV.vcf")"

# --- A file -----------------------------------------------------------------
head -c 3000 /dev/urandom >"$W/blob.bin"
curl -sS -o "$W/file.json" -H 'Content-Type: application/octet-stream' -H 'Accept: application/json' \
	-H "X-Linksync-Name: %22%3E%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E.bin" \
	--data-binary @"$W/blob.bin" "$BASE/api/v1/items"
FILE=$(sed -n 's/^ *"id": "\([a-z0-9]*\)".*/\1/p' "$W/file.json")
page file "$BASE/$FILE"
check_csp file
check "file page: hostile name only escaped" safe_page file
check "file page: name" has file 'img src=x onerror=alert(1)&gt;.bin'
check "file page: size" has file '2.9 KiB (3000 bytes)'
check "file page: type" has file 'application/octet-stream'
check "file page: Download" has file "href=\"/$FILE/raw?download=1\""
curl -sS -D "$W/dl.h" -o "$W/dl.bin" "$BASE/$FILE/raw?download=1"
check "file: the download is the file" cmp -s "$W/blob.bin" "$W/dl.bin"
check "file: as an attachment" grep -q '^attachment' <<<"$(hdr Content-Disposition "$W/dl.h")"

# --- Read-limited items -----------------------------------------------------
post lim 'text/plain' "$W/note.txt" '?reads=2'
LIM=$ID
page lim1 "$BASE/$LIM"
page lim2 "$BASE/$LIM"
curl -sS -o /dev/null -I -H "$HTML" "$BASE/$LIM"
check_eq "limited: plain GETs and HEAD of the page consume nothing" 2 "$(reads_left "$LIM")"
check "limited page: no content on a plain GET" lacks lim1 'Wi-Fi'
check "limited page: how many opens are left" has lim1 'opened <strong>2 more times</strong>'
check "limited page: an Open button that POSTs" has lim1 "<form class=\"inline\" method=\"post\" action=\"/$LIM/open\"><button type=\"submit\" class=\"button\">Open (2 left)</button></form>"
check_csp lim1
check_eq "limited: GET /{id}/open only redirects to the page" 303 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$LIM/open")"
check_eq "limited: ... and consumes nothing" 2 "$(reads_left "$LIM")"
page open1 "$BASE/$LIM/open" -X POST
check_eq "limited: POST /{id}/open answers the page" 200 "$(status_of "$W/open1.h")"
check "limited: the opened page shows the content" has open1 'Wi-Fi: &lt;script&gt;alert(1)&lt;/script&gt;'
check "limited: the opened page is safe" safe_page open1
check "limited: the opened page says what is left" has open1 'can be opened 1 more time.'
check_eq "limited: POST /{id}/open consumed one read" 1 "$(reads_left "$LIM")"
page open2 "$BASE/$LIM/open" -X POST
check "limited: the last open shows the content" has open2 'Wi-Fi'
check "limited: ... and says it was the last" has open2 'This was the last open'
check_eq "limited: used up" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$LIM")"
page open3 "$BASE/$LIM/open" -X POST
check_eq "limited: a further open is 404" 404 "$(status_of "$W/open3.h")"
check "limited: ... as a page" has open3 'Nothing here'

post limfile 'application/pdf' "$W/blob.bin" '?reads=1&name=r.pdf'
LF=$ID
page limfile "$BASE/$LF"
check "limited file page: a Download button that POSTs" has limfile 'Download (1 left)</button>'
curl -sS -D "$W/lf.h" -o "$W/lf.bin" -X POST "$BASE/$LF/open"
check "limited file: POST /{id}/open is the download" cmp -s "$W/blob.bin" "$W/lf.bin"
check "limited file: as an attachment" grep -q '^attachment; filename="r.pdf"' <<<"$(hdr Content-Disposition "$W/lf.h")"
check_eq "limited file: used up" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$LF")"

post limcal 'text/calendar' "$W/event.ics" '?reads=2'
LC=$ID
page limcal "$BASE/$LC"
check "limited calendar page: nothing of the events" lacks limcal 'alert(1)'
check "limited calendar page: Add to calendar spends an open" has limcal "action=\"/$LC/open?as=ics\"><button type=\"submit\" class=\"button secondary\">Add to calendar (uses one open)</button>"
check_eq "limited calendar: no feed (it would use up reads)" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$LC.ics")"
check_eq "limited calendar: add-to-calendar leads to the page" "/$LC" "$(curl -sS -o /dev/null -w '%{redirect_url}' "$BASE/$LC/add-to-calendar" | sed 's#^http://[^/]*##')"
check_eq "limited calendar: still 2 reads" 2 "$(reads_left "$LC")"
curl -sS -D "$W/lc.h" -o "$W/lc.ics" -X POST "$BASE/$LC/open?as=ics"
check_eq "limited calendar: POST ?as=ics is text/calendar" "text/calendar; charset=utf-8" "$(hdr Content-Type "$W/lc.h")"
check "limited calendar: ... an attachment" grep -q '^attachment' <<<"$(hdr Content-Disposition "$W/lc.h")"
check_eq "limited calendar: ... consumed one read" 1 "$(reads_left "$LC")"
"$PY" -c 'import sys, icalendar; c = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read()); assert len(c.walk("VEVENT")) == 2; print("ok")' "$W/lc.ics" >"$W/lc.py" 2>&1
check "limited calendar: python3-icalendar reads it" grep -qx ok "$W/lc.py"
page lcopen "$BASE/$LC/open" -X POST
check "limited calendar: the last open shows the events" has lcopen 'Weekend away'
check "limited calendar: ... with no button that needs another read" lacks lcopen '?as=ics'

post limcard 'text/vcard' "$W/card.vcf" '?reads=1'
LV=$ID
page limcard "$BASE/$LV"
check "limited contact page: Save contact spends an open" has limcard "action=\"/$LV/open?as=vcf\""
check "limited contact page: nothing of the contact" lacks limcard 'Rue de la Paix'
curl -sS -D "$W/lv.h" -o "$W/lv.vcf" -X POST "$BASE/$LV/open?as=vcf"
check_eq "limited contact: POST ?as=vcf is text/vcard" "text/vcard; charset=utf-8" "$(hdr Content-Type "$W/lv.h")"
check "limited contact: vCard 3.0" grep -qx $'VERSION:3.0\r' "$W/lv.vcf"
check_eq "limited contact: used up" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/api/v1/items/$LV")"

# --- Not found --------------------------------------------------------------
NO_ID=aaaaaaaaaaaaaaaaaaaaaaaaaa
page nf "$BASE/$NO_ID"
check_eq "404 page: unknown id" 404 "$(status_of "$W/nf.h")"
check_eq "404 page: HTML" "text/html; charset=utf-8" "$(hdr Content-Type "$W/nf.h")"
check "404 page: says so" has nf 'Nothing here'
check_csp nf
page nf2 "$BASE/no-such-page"
check_eq "404 page: unknown path" 404 "$(status_of "$W/nf2.h")"
check "404 page: unknown path, as a page" has nf2 'Nothing here'
check_eq "404: unknown .ics" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$NO_ID.ics")"
check_eq "404: unknown .vcf" 404 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/$NO_ID.vcf")"
check_eq "404: open of an unknown id" 404 "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$BASE/$NO_ID/open")"
check_eq "405: PUT on open" 405 "$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$BASE/$EV/open")"

# --- The page's own files ---------------------------------------------------
for f in item.js item.css style.css; do
	check_eq "asset $f" 200 "$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/static/$f")"
done

check "server still running" kill -0 "$SERVER_PID"
[ "$FAILED" -eq 0 ] || { echo "--- server log"; cat "$SERVER_LOG"; }
finish
