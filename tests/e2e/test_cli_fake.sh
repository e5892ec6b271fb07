#!/usr/bin/env bash
# The client against a scripted fake server (Perl, part of every Debian) that
# answers what a real linksyncd never would: hostile Content-Disposition
# names, a 500 with an error document, a body cut short, a 201 that is not
# JSON, a 429 without a body, a redirect. It also records every request, to
# check that a link's #key is never sent.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

LS="$LINKSYNC"
if ! perl -MIO::Socket::INET -e 1 2>/dev/null; then
	echo "skip - perl with IO::Socket::INET is missing"
	echo "0 passed, 0 failed"
	exit 0
fi


A=aaaaaaaaaaaaaaaaaaaaaaaaaa # hostile name
B=bbbbbbbbbbbbbbbbbbbbbbbbbb # no name: id + extension of the type
C=cccccccccccccccccccccccccc # 500 with an error document
D=dddddddddddddddddddddddddd # cut short
E=eeeeeeeeeeeeeeeeeeeeeeeeee # 429 without a body
F=ffffffffffffffffffffffffff # a name that is nothing but dots
G=gggggggggggggggggggggggggg # redirect to A

REQLOG="$TMP/requests.log"
PORTFILE="$TMP/fake.port"
perl -MIO::Socket::INET -e '
	use strict;
	my ($portfile, $reqlog) = @ARGV;
	alarm 120;
	my $srv = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
		Listen => 16, ReuseAddr => 1) or die "listen: $!";
	open(my $pf, ">", $portfile) or die; print $pf $srv->sockport, "\n"; close $pf;
	open(my $log, ">>", $reqlog) or die; $log->autoflush(1);
	while (my $c = $srv->accept) {
		my $head = "";
		while (defined(my $l = <$c>)) { $head .= $l; last if $l eq "\r\n"; }
		print $log $head;
		my ($len) = $head =~ /^Content-Length:\s*(\d+)/mi;
		if ($head =~ /^Expect:\s*100-continue/mi) { print $c "HTTP/1.1 100 Continue\r\n\r\n"; }
		my $body = ""; read($c, $body, $len) if $len;
		my ($method, $path) = $head =~ /^(\S+) (\S+)/;
		my $r;
		if ($path =~ m{^/a{26}/raw}) {
			$r = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n" .
			     "Content-Disposition: attachment; filename=\"../../evil.txt\"; " .
			     "filename*=UTF-8\x27\x27..%2F..%2F.evil%1B%5B31m.txt\r\n\r\nevil\n";
		} elsif ($path =~ m{^/b{26}/raw}) {
			$r = "HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\nContent-Length: 16\r\n\r\n" .
			     "BEGIN:VCALENDAR\n";
		} elsif ($path =~ m{^/c{26}/raw}) {
			my $j = "{\"error\":\"internal\",\"message\":\"The disk is on fire.\"}";
			$r = "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\n" .
			     "Content-Length: " . length($j) . "\r\n\r\n$j";
		} elsif ($path =~ m{^/d{26}/raw}) {
			$r = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n" .
			     "Content-Length: 100000\r\n\r\n" . ("x" x 10);
		} elsif ($path =~ m{^/e{26}/raw}) {
			$r = "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\n\r\n";
		} elsif ($path =~ m{^/f{26}/raw}) {
			$r = "HTTP/1.1 200 OK\r\nContent-Type: application/x-unknown\r\n" .
			     "Content-Disposition: attachment; filename=\"..\"\r\nContent-Length: 2\r\n\r\nf\n";
		} elsif ($path =~ m{^/g{26}/raw}) {
			my $port = $srv->sockport;
			$r = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:$port/" . ("a" x 26) .
			     "/raw\r\nContent-Length: 0\r\n\r\n";
		} elsif ($method eq "POST" && $path =~ m{^/api/v1/items}) {
			$r = "HTTP/1.1 201 Created\r\nContent-Type: text/html\r\nContent-Length: 6\r\n\r\nhello\n";
		} else {
			$r = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
		}
		print $c $r;
		close $c;
	}
' "$PORTFILE" "$REQLOG" &
FAKE_PID=$!
trap 'kill $FAKE_PID 2>/dev/null; cleanup' EXIT
for i in $(seq 1 100); do
	[ -s "$PORTFILE" ] && break
	sleep 0.05
done
FAKE="http://127.0.0.1:$(cat "$PORTFILE")"
export LINKSYNC_SERVER="$FAKE"

W="$TMP/work/a/b"
mkdir -p "$W"
cd "$W" || exit 1

expect_exit "pull -O of a hostile filename*" 0 "$LS" pull -O "$FAKE/$A#c2VjcmV0a2V5"
check_eq "the name is cut to its base, unhidden, controls replaced" "evil_[31m.txt" "$(cat "$OUT")"
check_eq "the file is in the current directory" "evil" "$(cat 'evil_[31m.txt' 2>/dev/null)"
check "nothing went up the tree" test ! -e "$TMP/work/evil.txt" -a ! -e "$TMP/work/.evil.txt"
if grep -q "c2VjcmV0a2V5" "$REQLOG"; then
	fail "the #key was sent to the server"
else
	ok "the #key was not sent"
fi
grep_ok "pull asks for the raw link" "GET /$A/raw HTTP/1.1" "$REQLOG"

expect_exit "pull -O without a name" 0 "$LS" pull -O "$FAKE/$B"
check_eq "the id and an extension for the type name the file" "$B.ics" "$(cat "$OUT")"
expect_exit "pull -O of a name made of dots" 0 "$LS" pull -O "$FAKE/$F"
check_eq "a name of dots falls back to the id" "$F" "$(cat "$OUT")"

expect_exit "a 500 with an error document" 6 "$LS" pull "$FAKE/$C"
grep_ok "the server's message is shown" "The disk is on fire." "$ERR"
grep_ok "with its status and code" "500 internal" "$ERR"
check_eq "the error is one line" 1 "$(wc -l <"$ERR")"

expect_exit "a body cut short" 3 "$LS" pull "$FAKE/$D" -o cut.bin
check "a cut download leaves no file" test ! -e cut.bin
check "and no temporary file" test -z "$(ls -A | grep cut)"

expect_exit "a 429 without a body" 5 "$LS" pull "$FAKE/$E"
grep_ok "429 advice" "wait a minute" "$ERR"

expect_exit "a redirect on GET is followed" 0 "$LS" pull "$FAKE/$G"
check_eq "the redirect target's bytes" "evil" "$(cat "$OUT")"

printf 'note\n' >n.txt
expect_exit "a 201 that is not JSON" 6 "$LS" push n.txt
grep_ok "says the server is odd" "without a link" "$ERR"
grep_ok "push sends the name" "POST /api/v1/items?name=n.txt HTTP/1.1" "$REQLOG"
grep_ok "push sends the type" "Content-Type: text/plain; charset=utf-8" "$REQLOG"
expect_exit "push with ttl and a name to escape" 6 "$LS" push --ttl 2h --name 'a b&c.txt' n.txt
grep_ok "query parameters are URL-encoded" "POST /api/v1/items?ttl=2h&name=a%20b%26c.txt HTTP/1.1" "$REQLOG"

expect_exit "update sends the bearer token" 4 "$LS" update "$FAKE/$C" n.txt --token tok123
grep_ok "PUT on the API path" "PUT /api/v1/items/$C HTTP/1.1" "$REQLOG"
grep_ok "with the token" "Authorization: Bearer tok123" "$REQLOG"
expect_exit "delete sends the bearer token" 4 "$LS" delete "$FAKE/$C#key" --token tok456
grep_ok "DELETE on the API path" "DELETE /api/v1/items/$C HTTP/1.1" "$REQLOG"

kill $FAKE_PID 2>/dev/null
wait $FAKE_PID 2>/dev/null
finish
