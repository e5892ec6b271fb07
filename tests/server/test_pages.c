/* Unit tests of the item page's renderers (src/server/page_*.c): escaping of
 * every user field, links built from user content, dates and times in words,
 * calendars and contacts as HTML. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four above first. */
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "page.h"

static char *take(struct buf *b)
{
	char *s;

	assert_false(b->failed);
	s = b->data ? b->data : strdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

static char *text_of(const char *s, size_t len)
{
	struct buf b = {0};

	lks_page_text(&b, s, len);
	return take(&b);
}

static void test_text_escaping(void **state)
{
	char *s;

	(void)state;
	s = text_of("<script>alert(1)</script>", 25);
	assert_string_equal(s, "&lt;script&gt;alert(1)&lt;/script&gt;");
	free(s);
	s = text_of("\"><img src=x onerror=alert(1)>", 30);
	assert_string_equal(s, "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
	free(s);
	s = text_of("a'b&c", 5);
	assert_string_equal(s, "a&#39;b&amp;c");
	free(s);
	/* NUL, controls and broken UTF-8 become U+FFFD; CR is dropped. */
	s = text_of("a\0b\x01"
		    "c\r\nd\te",
		    10);
	assert_string_equal(s, "a\xef\xbf\xbd"
			       "b\xef\xbf\xbd"
			       "c\nd\te");
	free(s);
	s = text_of("x\xc3(\xe2\x82\xac\xed\xa0\x80\xc0\xaf\xf0\x9f\x98\x80", 15);
	assert_string_equal(s, "x\xef\xbf\xbd(\xe2\x82\xac\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
			       "\xef\xbf\xbd\xef\xbf\xbd\xf0\x9f\x98\x80");
	free(s);
	/* A sequence cut by the end of the text. */
	s = text_of("ok\xe2\x82", 4);
	assert_string_equal(s, "ok\xef\xbf\xbd\xef\xbf\xbd");
	free(s);
}

static void test_url_helpers(void **state)
{
	struct buf b = {0};
	char *s;

	(void)state;
	lks_page_url_encode(&b, "a b\"<>&'@+/é", 13, "@+\"<>&'");
	s = take(&b);
	/* keep never lets markup characters through. */
	assert_string_equal(s, "a%20b%22%3C%3E%26%27@+%2F%C3%A9");
	free(s);
	assert_true(lks_page_is_web_url("https://example.org/a?b=c"));
	assert_true(lks_page_is_web_url("HTTP://example.org"));
	assert_false(lks_page_is_web_url("javascript:alert(1)"));
	assert_false(lks_page_is_web_url("data:text/html,<script>"));
	assert_false(lks_page_is_web_url("https://x.org/\"onmouseover=alert(1)"));
	assert_false(lks_page_is_web_url("https://x.org/a b"));
	assert_false(lks_page_is_web_url("https:///path"));
	assert_false(lks_page_is_web_url(NULL));
}

static void test_dates(void **state)
{
	char s[64];

	(void)state;
	lks_page_date(s, sizeof(s), 2027, 3, 1);
	assert_string_equal(s, "Monday 1 March 2027");
	lks_page_date(s, sizeof(s), 1970, 1, 1);
	assert_string_equal(s, "Thursday 1 January 1970");
	lks_page_date(s, sizeof(s), 1969, 12, 31);
	assert_string_equal(s, "Wednesday 31 December 1969");
	lks_page_date(s, sizeof(s), 2000, 2, 29);
	assert_string_equal(s, "Tuesday 29 February 2000");
	lks_page_date(s, sizeof(s), 1600, 1, 1);
	assert_string_equal(s, "Saturday 1 January 1600");
	lks_page_date(s, sizeof(s), 2027, 13, 1);
	assert_string_equal(s, "2027-13-01");
	lks_page_relative(s, sizeof(s), 30);
	assert_string_equal(s, "in less than a minute");
	lks_page_relative(s, sizeof(s), 60);
	assert_string_equal(s, "in 1 minute");
	lks_page_relative(s, sizeof(s), 86400);
	assert_string_equal(s, "in 24 hours");
	lks_page_relative(s, sizeof(s), 7 * 86400);
	assert_string_equal(s, "in 7 days");
}

#define CAL_HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"
#define CAL_TAIL "END:VCALENDAR\r\n"

static char *render_calendar(const char *ics)
{
	lks_calendar *cal = NULL;
	struct buf b = {0};

	assert_int_equal(lks_ical_parse(&cal, ics, strlen(ics)), 0);
	lks_page_calendar(&b, cal, 0);
	lks_ical_free(cal);
	return take(&b);
}

static void test_calendar(void **state)
{
	char *s;

	(void)state;
	s = render_calendar(CAL_HEAD
			    "BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20270101T000000Z\r\n"
			    "DTSTART;TZID=America/New_York:20270301T090000\r\n"
			    "DTEND;TZID=America/New_York:20270301T103000\r\n"
			    "SUMMARY:<script>alert(1)</script>\r\n"
			    "LOCATION:\"><img src=x onerror=alert(1)>\r\n"
			    "URL:javascript:alert(1)\r\n"
			    "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20270601T000000Z\r\n"
			    "END:VEVENT\r\n"
			    "BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20270101T000000Z\r\n"
			    "DTSTART;VALUE=DATE:20270306\r\nDTEND;VALUE=DATE:20270307\r\n"
			    "SUMMARY:Day off\r\nURL:https://example.org/x\r\nEND:VEVENT\r\n"
			    "BEGIN:VTODO\r\nUID:3\r\nDTSTAMP:20270101T000000Z\r\n"
			    "DUE:20270305T170000Z\r\nSUMMARY:Buy milk\r\nEND:VTODO\r\n" CAL_TAIL);
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<img"));
	assert_null(strstr(s, "href=\"javascript"));
	assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
	/* The wall time in the event's zone, the zone's name, the UTC instant. */
	assert_non_null(strstr(s,
			       "<time datetime=\"2027-03-01T14:00:00Z\" "
			       "data-wall=\"2027-03-01T09:00\">Monday 1 March 2027, 09:00</time> "
			       "– <time datetime=\"2027-03-01T15:30:00Z\" "
			       "data-wall=\"2027-03-01T10:30\">10:30</time> "
			       "<span class=\"zone\">(America/New_York)</span>"));
	assert_non_null(strstr(s, "Repeats every week on Monday until 1 June 2027"));
	/* One all-day date (DTEND is exclusive). */
	assert_non_null(strstr(s, ">Saturday 6 March 2027</time> <span class=\"zone\">(all day)"));
	assert_null(strstr(s, "Sunday 7 March"));
	assert_non_null(strstr(s, "href=\"https://example.org/x\""));
	assert_non_null(strstr(s, "due <time datetime=\"2027-03-05T17:00:00Z\""));
	/* Sorted by start: the event, the to-do (5 March), the day off. */
	assert_true(strstr(s, "alert(1)") < strstr(s, "Buy milk"));
	assert_true(strstr(s, "Buy milk") < strstr(s, "Day off"));
	free(s);

	/* Several days, over midnight, floating time, a different end zone. */
	s = render_calendar(CAL_HEAD "BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20270101T000000Z\r\n"
				     "DTSTART;VALUE=DATE:20271230\r\nDTEND;VALUE=DATE:20280102\r\n"
				     "SUMMARY:a\r\nEND:VEVENT\r\n"
				     "BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20270101T000000Z\r\n"
				     "DTSTART:20270301T220000\r\nDTEND:20270302T013000\r\n"
				     "SUMMARY:b\r\nEND:VEVENT\r\n"
				     "BEGIN:VEVENT\r\nUID:3\r\nDTSTAMP:20270101T000000Z\r\n"
				     "DTSTART;TZID=Europe/Paris:20270401T100000\r\n"
				     "DTEND;TZID=America/New_York:20270401T120000\r\n"
				     "SUMMARY:c\r\nEND:VEVENT\r\n" CAL_TAIL);
	assert_non_null(strstr(s,
			       ">Thursday 30 December 2027</time> – <time datetime=\"2028-01-01\">"
			       "Saturday 1 January 2028</time>"));
	assert_non_null(
	    strstr(s, ">Monday 1 March 2027, 22:00</time> – <time "
		      "datetime=\"2027-03-02T01:30:00\">Tuesday 2 March 2027, 01:30</time> "
		      "<span class=\"zone\">(local time)</span>"));
	assert_non_null(strstr(s, "10:00</time> <span class=\"zone\">(Europe/Paris)</span> – "));
	assert_non_null(strstr(s, "12:00</time> <span class=\"zone\">(America/New_York)</span>"));
	free(s);
}

static char *render_contacts(const char *vcf, int titled)
{
	lks_vcard_list *cards = NULL;
	struct buf b = {0};

	assert_int_equal(lks_vcard_parse(&cards, vcf, strlen(vcf)), 0);
	lks_page_contacts(&b, cards, titled);
	lks_vcard_free(cards);
	return take(&b);
}

/* A 1x1 PNG, and an SVG posing as a PNG. */
#define PNG_B64                                                                                    \
	"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJ"     \
	"RU5ErkJggg=="
#define SVG_B64 "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0iYWxlcnQoMSkiLz4="

static void test_contacts(void **state)
{
	char *s;

	(void)state;
	s = render_contacts("BEGIN:VCARD\r\nVERSION:3.0\r\n"
			    "FN:<script>alert(1)</script>\r\n"
			    "ORG:\"><img src=x onerror=alert(1)>;Unit\r\n"
			    "TEL;TYPE=CELL:+33 (6) 12-34\r\n"
			    "TEL:\"><b>x</b>\r\n"
			    "EMAIL;TYPE=WORK:a\"b@example.org\r\n"
			    "ADR;TYPE=HOME:;;1 Main St;Springfield;IL;62701;USA\r\n"
			    "URL:javascript:alert(1)\r\n"
			    "BDAY:--03-01\r\n"
			    "PHOTO;ENCODING=b;TYPE=PNG:" PNG_B64 "\r\n"
			    "END:VCARD\r\n"
			    "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Second\r\n"
			    "PHOTO;ENCODING=b;TYPE=PNG:" SVG_B64 "\r\n"
			    "END:VCARD\r\n",
			    0);
	assert_null(strstr(s, "<script"));
	assert_null(strstr(s, "<img src=x"));
	assert_null(strstr(s, "<b>"));
	assert_null(strstr(s, "javascript"));
	assert_non_null(strstr(s, "<h2>&lt;script&gt;alert(1)&lt;/script&gt;</h2>"));
	assert_non_null(strstr(s, "<dt>Phone <span class=\"muted\">(mobile)</span></dt>"));
	assert_non_null(strstr(s, "<a href=\"tel:+3361234\">+33 (6) 12-34</a>"));
	/* No digits: no link, but the text, escaped. */
	assert_non_null(strstr(s, "<dd>&quot;&gt;&lt;b&gt;x&lt;/b&gt;</dd>"));
	assert_non_null(strstr(s, "href=\"mailto:a%22b@example.org\">a&quot;b@example.org</a>"));
	assert_non_null(strstr(s, "1 Main St\n62701 Springfield, IL\nUSA"));
	assert_non_null(strstr(s, "<dd>1 March</dd>"));
	/* The PNG is shown inline; the SVG never is. */
	assert_non_null(strstr(s, "src=\"data:image/png;base64," PNG_B64 "\""));
	assert_null(strstr(s, "svg"));
	assert_null(strstr(s, SVG_B64));
	free(s);

	/* Titled: the page's h1 names the only card. */
	s = render_contacts("BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ann\r\nEMAIL:ann@example.org\r\n"
			    "END:VCARD\r\n",
			    1);
	assert_null(strstr(s, "<h2>"));
	assert_non_null(strstr(s, "mailto:ann@example.org"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text_escaping), cmocka_unit_test(test_url_helpers),
	    cmocka_unit_test(test_dates),	  cmocka_unit_test(test_calendar),
	    cmocka_unit_test(test_contacts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
