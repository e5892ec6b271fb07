/* Unit tests of the iCalendar module: each RFC 5545 rule we add to libical
 * (and the line its message names), zones (embedded, builtin, unknown,
 * floating, UTC), the page model, recurrence rules in words, the feed, use
 * from several threads, and every calendar of the shared corpus. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "linksync/error.h"
#include "linksync/ical.h"

#define HEAD "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//linksync//test//EN\r\n"
#define TAIL "END:VCALENDAR\r\n"
#define EVENT_IDS "UID:e1@example.com\r\nDTSTAMP:20270101T000000Z\r\n"

static int parse(lks_calendar **cal, const char *text)
{
	*cal = NULL;
	return lks_ical_parse(cal, text, strlen(text));
}

/* Asserts text is refused with LKS_EBADCONTENT and a message that starts
 * with "line N:" and contains want. */
static void expect_refused(const char *text, int line, const char *want)
{
	lks_calendar *cal = NULL;
	char prefix[32];
	int rc = parse(&cal, text);

	if (rc != LKS_EBADCONTENT || !strstr(lks_error_message(), want))
		print_error("rc %d, message: %s (wanted %s)\n", rc, lks_error_message(), want);
	assert_int_equal(rc, LKS_EBADCONTENT);
	assert_null(cal);
	if (line > 0) {
		snprintf(prefix, sizeof(prefix), "line %d: ", line);
		if (strncmp(lks_error_message(), prefix, strlen(prefix)) != 0)
			print_error("message: %s (wanted %s)\n", lks_error_message(), prefix);
		assert_true(strncmp(lks_error_message(), prefix, strlen(prefix)) == 0);
	}
	assert_non_null(strstr(lks_error_message(), want));
}

static const lks_ical_component *only(lks_calendar *cal)
{
	assert_int_equal(lks_ical_count(cal), 1);
	return lks_ical_get(cal, 0);
}

/* ---- model ---- */

static void test_utc_event(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *e;
	char *sum = NULL;

	(void)state;
	assert_int_equal(parse(&cal, HEAD "X-WR-CALNAME:Team\\, work\r\nBEGIN:VEVENT\r\n" EVENT_IDS
					  "DTSTART:20270301T123000Z\r\nDTEND:20270301T133000Z\r\n"
					  "SUMMARY:Team lunch\\, Friday\r\nLOCATION:Canteen\r\n"
					  "DESCRIPTION:Line one\\nLine two\r\nSTATUS:CONFIRMED\r\n"
					  "ORGANIZER;CN=Ann Smith:mailto:ann@example.com\r\n"
					  "URL:https://example.com/lunch\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_int_equal(e->kind, LKS_ICAL_EVENT);
	assert_int_equal(e->line, 5);
	assert_string_equal(e->uid, "e1@example.com");
	assert_string_equal(e->summary, "Team lunch, Friday");
	assert_string_equal(e->location, "Canteen");
	assert_string_equal(e->description, "Line one\nLine two");
	assert_string_equal(e->status, "CONFIRMED");
	assert_string_equal(e->organizer, "Ann Smith");
	assert_string_equal(e->organizer_email, "ann@example.com");
	assert_string_equal(e->url, "https://example.com/lunch");
	assert_null(e->rrule);
	assert_null(e->rrule_words);
	assert_true(e->start.present);
	assert_false(e->start.date_only);
	assert_int_equal(e->start.zone, LKS_ICAL_UTC);
	assert_string_equal(e->start.tzid, "UTC");
	assert_int_equal(e->start.hour, 12);
	assert_int_equal(e->start.minute, 30);
	assert_true(e->start.utc == 1803904200LL); /* 2027-03-01T12:30:00Z */
	assert_true(e->end.utc == e->start.utc + 3600);
	assert_string_equal(lks_ical_name(cal), "Team, work");
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Team lunch, Friday, 2027-03-01 12:30 (UTC)");
	free(sum);
	assert_null(lks_ical_get(cal, 1));
	lks_ical_free(cal);
	lks_ical_free(NULL);
}

static void test_all_day(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *e;
	char *sum = NULL;

	(void)state;
	assert_int_equal(parse(&cal,
			       HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
				    "DTSTART;VALUE=DATE:20270301\r\nDTEND;VALUE=DATE:20270302\r\n"
				    "SUMMARY:Holiday\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_true(e->start.date_only);
	assert_true(e->end.date_only);
	assert_int_equal(e->start.zone, LKS_ICAL_FLOATING);
	assert_null(e->start.tzid);
	assert_int_equal(e->start.day, 1);
	assert_int_equal(e->end.day, 2);
	assert_true(e->start.utc == 1803859200LL);
	assert_true(e->end.utc == 1803859200LL + 86400);
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Holiday, 2027-03-01");
	free(sum);
	lks_ical_free(cal);
}

static void test_floating(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *e;
	char *sum = NULL;

	(void)state;
	assert_int_equal(parse(&cal, HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
					  "DTSTART:20270301T090000\r\nDURATION:PT1H30M\r\n"
					  "SUMMARY:Stretch\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_int_equal(e->start.zone, LKS_ICAL_FLOATING);
	assert_null(e->start.tzid);
	assert_true(e->start.utc == 1803891600LL); /* read as UTC */
	assert_true(e->end.present);
	assert_int_equal(e->end.hour, 10);
	assert_int_equal(e->end.minute, 30);
	assert_true(e->end.utc == e->start.utc + 5400);
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Stretch, 2027-03-01 09:00");
	free(sum);
	lks_ical_free(cal);
}

#define PARIS_LIKE                                                                                 \
	"BEGIN:VTIMEZONE\r\nTZID:Office Time\r\n"                                                  \
	"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\n"                      \
	"TZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\n"          \
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nTZOFFSETFROM:+0100\r\n"                      \
	"TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\n"           \
	"END:VTIMEZONE\r\n"

static void test_embedded_vtimezone(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *e;
	char *sum = NULL;

	(void)state;
	/* The VTIMEZONE may come after its use. */
	assert_int_equal(parse(&cal, HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
					  "DTSTART;TZID=Office Time:20270701T123000\r\n"
					  "DTEND;TZID=\"Office Time\":20270701T133000\r\n"
					  "SUMMARY:Summer\r\nEND:VEVENT\r\n"
					  "BEGIN:VEVENT\r\nUID:e2\r\nDTSTAMP:20270101T000000Z\r\n"
					  "DTSTART;TZID=Office Time:20270101T123000\r\n"
					  "SUMMARY:Winter\r\nEND:VEVENT\r\n" PARIS_LIKE TAIL),
			 0);
	assert_int_equal(lks_ical_count(cal), 2);
	e = lks_ical_get(cal, 0);
	assert_int_equal(e->start.zone, LKS_ICAL_TZID);
	assert_string_equal(e->start.tzid, "Office Time");
	assert_int_equal(e->start.hour, 12);
	assert_true(e->start.utc == 1814445000LL - 7200); /* 12:30 at +02:00 */
	assert_true(e->end.utc == e->start.utc + 3600);
	e = lks_ical_get(cal, 1);
	assert_true(e->start.utc == 1798806600LL - 3600); /* 12:30 at +01:00 */
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Summer, 2027-07-01 12:30 (Office Time) + 1 more");
	free(sum);
	lks_ical_free(cal);
}

static void test_builtin_zone(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *e;
	char *sum = NULL;

	(void)state;
	/* No VTIMEZONE: RFC 5545 wants one, but Google and Outlook often rely
	 * on IANA names, which libical's database knows. */
	assert_int_equal(parse(&cal, HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
					  "DTSTART;TZID=Europe/Berlin:20270301T123000\r\n"
					  "DTEND;TZID=America/New_York:20270301T080000\r\n"
					  "SUMMARY:Team lunch\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_string_equal(e->start.tzid, "Europe/Berlin");
	assert_true(e->start.utc == 1803904200LL - 3600);
	assert_true(e->end.utc == 1803904200LL + 1800); /* 08:00 -05:00 = 13:00Z */
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Team lunch, 2027-03-01 12:30 (Europe/Berlin)");
	free(sum);
	lks_ical_free(cal);

	/* A prefixed Evolution/Mozilla TZID is found by its IANA tail. */
	assert_int_equal(parse(&cal, HEAD
			       "BEGIN:VEVENT\r\n" EVENT_IDS
			       "DTSTART;TZID=/freeassociation.sourceforge.net/Tzfile/Europe/Paris:"
			       "20270701T120000\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_true(e->start.utc == 1814443200LL - 7200);
	lks_ical_free(cal);

	/* A far-future year takes its offset from the same day of 2100. */
	assert_int_equal(parse(&cal, HEAD
			       "BEGIN:VEVENT\r\n" EVENT_IDS
			       "DTSTART;TZID=Europe/Berlin:99990701T120000\r\nEND:VEVENT\r\n" TAIL),
			 0);
	e = only(cal);
	assert_int_equal(e->start.year, 9999);
	lks_ical_free(cal);
}

static void test_unknown_zone(void **state)
{
	(void)state;
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART;TZID=Mars/Olympus_Mons:"
			    "20270301T123000\r\nEND:VEVENT\r\n" TAIL,
		       7, "TZID 'Mars/Olympus_Mons' has no VTIMEZONE");
	/* Windows names need their VTIMEZONE. */
	expect_refused(HEAD
		       "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T123000Z\r\n"
		       "DTEND;TZID=W. Europe Standard Time:20270301T133000\r\nEND:VEVENT\r\n" TAIL,
		       8, "TZID 'W. Europe Standard Time'");
	/* libical opens zoneinfo/<TZID>: a path must never get there. */
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART;TZID=../../../../dev/zero:"
			    "20270301T123000\r\nEND:VEVENT\r\n" TAIL,
		       7, "is not a known time zone");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART;TZID=/../../../../dev/stdin:"
			    "20270301T123000\r\nEND:VEVENT\r\n" TAIL,
		       7, "is not a known time zone");
	/* A TZID on any property counts, not only on dates we read. */
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T123000Z\r\n"
			    "EXDATE;TZID=Nowhere/Town:20270308T123000\r\nEND:VEVENT\r\n" TAIL,
		       8, "TZID 'Nowhere/Town'");
}

static void test_todo_and_journal(void **state)
{
	lks_calendar *cal = NULL;
	const lks_ical_component *t;
	char *sum = NULL;

	(void)state;
	assert_int_equal(parse(&cal, HEAD "BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20270101T000000Z\r\n"
					  "DUE;VALUE=DATE:20270301\r\nSUMMARY:Buy milk\r\n"
					  "STATUS:NEEDS-ACTION\r\nEND:VTODO\r\n"
					  "BEGIN:VJOURNAL\r\nUID:j1\r\nDTSTAMP:20270101T000000Z\r\n"
					  "SUMMARY:Notes\r\nEND:VJOURNAL\r\n" TAIL),
			 0);
	assert_int_equal(lks_ical_count(cal), 2);
	t = lks_ical_get(cal, 0);
	assert_int_equal(t->kind, LKS_ICAL_TODO);
	assert_false(t->start.present);
	assert_true(t->end.present);
	assert_true(t->end.date_only);
	assert_string_equal(t->status, "NEEDS-ACTION");
	assert_int_equal(lks_ical_get(cal, 1)->kind, LKS_ICAL_JOURNAL);
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Buy milk, due 2027-03-01 + 1 more");
	free(sum);
	lks_ical_free(cal);

	expect_refused(HEAD
		       "BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20270101T000000Z\r\n"
		       "DTSTART:20270301T100000Z\r\nDUE:20270301T090000Z\r\nEND:VTODO\r\n" TAIL,
		       8, "DUE (2027-03-01 09:00) is before DTSTART");
	expect_refused(HEAD "BEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20270101T000000Z\r\n"
			    "DURATION:PT1H\r\nEND:VTODO\r\n" TAIL,
		       7, "a DURATION but no DTSTART");
	expect_refused(HEAD "BEGIN:VJOURNAL\r\nUID:j1\r\nSUMMARY:x\r\nEND:VJOURNAL\r\n" TAIL, 4,
		       "VJOURNAL has no DTSTAMP");
}

static void test_several_and_unknown_parts(void **state)
{
	lks_calendar *cal = NULL;
	char *sum = NULL;

	(void)state;
	/* Unknown IANA properties and components are ignored (RFC 5545). */
	assert_int_equal(parse(&cal, HEAD
			       "COLOR:red\r\nFUTURE-PROP:x\r\n"
			       "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			       "SUMMARY:A\r\nx-lower-case:kept out\r\n"
			       "BEGIN:VFUTURE\r\nFOO:bar\r\nEND:VFUTURE\r\nEND:VEVENT\r\n"
			       "BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20270101T000000Z\r\n"
			       "DTSTART:20270302T100000Z\r\nEND:VEVENT\r\n"
			       "BEGIN:VTODO\r\nUID:3\r\nDTSTAMP:20270101T000000Z\r\nEND:VTODO\r\n"
			       "BEGIN:X-THING\r\nX-A:b\r\nEND:X-THING\r\n" TAIL),
			 0);
	assert_int_equal(lks_ical_count(cal), 3);
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "A, 2027-03-01 10:00 (UTC) + 2 more");
	free(sum);
	assert_null(lks_ical_get(cal, 1)->summary);
	lks_ical_free(cal);

	/* Calendar holding only a time zone: valid, nothing to show. */
	assert_int_equal(parse(&cal, HEAD PARIS_LIKE TAIL), 0);
	assert_int_equal(lks_ical_count(cal), 0);
	assert_int_equal(lks_ical_summary(&sum, cal), 0);
	assert_string_equal(sum, "Calendar (no events)");
	free(sum);
	lks_ical_free(cal);
}

static void test_client_quirks(void **state)
{
	lks_calendar *cal = NULL;

	(void)state;
	/* Google: empty TEXT values, RDATE dates with a Z; RFC 9253 RELATED-TO
	 * values; Outlook: BYHOUR/BYMINUTE in zone rules. */
	assert_int_equal(parse(&cal, HEAD
			       "BEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\n"
			       "BEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\n"
			       "TZOFFSETTO:+0100\r\n"
			       "RRULE:FREQ=YEARLY;BYMINUTE=0;BYHOUR=3;BYDAY=-1SU;BYMONTH=10\r\n"
			       "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\n"
			       "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\n"
			       "RRULE:FREQ=YEARLY;BYMINUTE=0;BYHOUR=2;BYDAY=-1SU;BYMONTH=3\r\n"
			       "END:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
			       "BEGIN:VEVENT\r\n" EVENT_IDS
			       "DTSTART;TZID=Romance Standard Time:20270701T120000\r\n"
			       "DESCRIPTION:\r\nLOCATION:\r\nRDATE:20131210Z,20121210Z\r\n"
			       "RELATED-TO;VALUE=UID:other@example.com\r\nEND:VEVENT\r\n" TAIL),
			 0);
	assert_null(only(cal)->description);
	assert_true(only(cal)->start.utc == 1814443200LL - 7200);
	lks_ical_free(cal);
	/* but an empty DTSTART is no date */
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:\r\nEND:VEVENT\r\n" TAIL, 7,
		       "DTSTART has no value");
}

/* A big calendar costs time in proportion to its size. */
static double parse_seconds(int events)
{
	size_t cap = (size_t)events * 200 + 4096, n = 0;
	char *text = malloc(cap);
	lks_calendar *cal = NULL;
	struct timespec a, b;
	int i;

	assert_non_null(text);
	n += (size_t)snprintf(text + n, cap - n, HEAD PARIS_LIKE);
	for (i = 0; i < events; i++)
		n += (size_t)snprintf(
		    text + n, cap - n,
		    "BEGIN:VEVENT\r\nUID:%d@x\r\nDTSTAMP:20270101T000000Z\r\n"
		    "DTSTART;TZID=%s:2027%02d%02dT100000\r\nDURATION:PT1H\r\n"
		    "SUMMARY:Event %d\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n",
		    i, i % 2 ? "Office Time" : "Europe/Berlin", i % 12 + 1, i % 28 + 1, i);
	n += (size_t)snprintf(text + n, cap - n, TAIL);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(lks_ical_parse(&cal, text, n), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(lks_ical_count(cal), events);
	lks_ical_free(cal);
	free(text);
	return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void test_linear_time(void **state)
{
	double small, big;

	(void)state;
	small = parse_seconds(4000);
	big = parse_seconds(32000);
	printf("4000 events: %.3f s, 32000 events: %.3f s\n", small, big);
	/* 8 times the input: far below the 64 times of a quadratic cost */
	assert_true(big < small * 20 + 0.05);
}

static void test_lf_bom_and_folding(void **state)
{
	lks_calendar *cal = NULL;
	const char *text = "\xef\xbb\xbf"
			   "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nUID:1\n"
			   "DTSTAMP:20270101T000000Z\nDTSTART:20270301T100000Z\n"
			   "SUMMARY:A long\n  title\twith \xc3\xa9\xff\nEND:VEVENT\nEND:VCALENDAR";

	(void)state;
	assert_int_equal(parse(&cal, text), 0);
	/* invalid UTF-8 becomes U+FFFD */
	assert_string_equal(only(cal)->summary, "A long title\twith \xc3\xa9\xef\xbf\xbd");
	lks_ical_free(cal);
	/* A line after folded ones is still named by its physical number. */
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DESCRIPTION:one\r\n two\r\n three\r\n"
			    "DTSTART:2027\r\nEND:VEVENT\r\n" TAIL,
		       10, "DTSTART: '2027' is not a valid");
}

/* ---- rules ---- */

static void test_structure(void **state)
{
	lks_calendar *cal = NULL;
	const char nul[] = HEAD "BEGIN:VEVENT\r\nSUMMARY:a\0b\r\n";

	(void)state;
	expect_refused("", 0, "empty");
	expect_refused("\r\n\r\n", 0, "empty");
	expect_refused("hello world\n", 1, "not an iCalendar file");
	expect_refused("BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n", 1, "not an iCalendar file");
	expect_refused("\r\nBEGIN:VEVENT\r\nEND:VEVENT\r\n", 2, "must start with BEGIN:VCALENDAR");
	assert_int_equal(lks_ical_parse(&cal, nul, sizeof(nul) - 1), LKS_EBADCONTENT);
	assert_non_null(strstr(lks_error_message(), "line 5: contains a NUL byte"));
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "END:VEVENT\r\n" TAIL HEAD TAIL,
		       10, "a second VCALENDAR after the END:VCALENDAR on line 9");
	expect_refused(HEAD PARIS_LIKE TAIL "SUMMARY:late\r\n", 20, "content after the END");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n" TAIL, 8,
		       "END:VCALENDAR does not close the BEGIN:VEVENT of line 4");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n", 4,
		       "BEGIN:VEVENT is never closed (no END:VEVENT)");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "END:VTODO\r\n" TAIL, 7,
		       "END:VTODO does not close the BEGIN:VEVENT of line 4");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "just some words\r\nEND:VEVENT\r\n" TAIL,
		       7, "'just some words' is not a content line");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "SUMMARY:a\rb\r\nEND:VEVENT\r\n" TAIL, 7,
		       "carriage return");
	expect_refused(HEAD "\r\n folded:nothing\r\n" TAIL, 5, "continuation line");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"
			    "END:VEVENT\r\n" TAIL,
		       7, "BEGIN:VCALENDAR inside VEVENT");
	expect_refused(HEAD TAIL, 1, "holds no event");
}

static void test_calendar_properties(void **state)
{
	(void)state;
	expect_refused("BEGIN:VCALENDAR\r\nPRODID:x\r\nBEGIN:VEVENT\r\n" EVENT_IDS
		       "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       1, "VCALENDAR has no VERSION");
	expect_refused("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n" EVENT_IDS
		       "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       1, "VCALENDAR has no PRODID");
	expect_refused("BEGIN:VCALENDAR\r\nPRODID:x\r\nVERSION:1.0\r\nBEGIN:VEVENT\r\n" EVENT_IDS
		       "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       3, "vCalendar 1.0");
	expect_refused(HEAD "VERSION:2.0\r\nBEGIN:VEVENT\r\n" EVENT_IDS
			    "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       4, "second VERSION (the first is on line 2)");
}

static void test_component_properties(void **state)
{
	(void)state;
	expect_refused(HEAD "BEGIN:VEVENT\r\nDTSTAMP:20270101T000000Z\r\n"
			    "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       4, "VEVENT has no UID");
	expect_refused(HEAD
		       "BEGIN:VEVENT\r\nUID:1\r\nDTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       4, "VEVENT has no DTSTAMP");
	expect_refused(HEAD "BEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20270101T000000Z\r\nUID:2\r\n"
			    "DTSTART:20270301T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       7, "second UID (the first is on line 5)");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "SUMMARY:x\r\nEND:VEVENT\r\n" TAIL, 4,
		       "VEVENT has no DTSTART");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "DTEND:20270301T090000Z\r\nEND:VEVENT\r\n" TAIL,
		       8, "DTEND (2027-03-01 09:00) is before DTSTART (2027-03-01 10:00, line 7)");
	/* Compared in UTC: 10:00 Berlin is before 09:30 London's 10:30 Berlin. */
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
			    "DTSTART;TZID=Europe/Berlin:20270301T100000\r\n"
			    "DTEND;TZID=Europe/London:20270301T083000\r\nEND:VEVENT\r\n" TAIL,
		       8, "is before DTSTART");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "DTEND:20270301T110000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n" TAIL,
		       9, "both DTEND (line 8) and DURATION");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART;VALUE=DATE:20270301\r\n"
			    "DTEND:20270302T110000Z\r\nEND:VEVENT\r\n" TAIL,
		       8, "DTEND is a date-time but DTSTART (line 7) is a date");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "DURATION:-PT1H\r\nEND:VEVENT\r\n" TAIL,
		       8, "DURATION is negative");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "DTSTART:20270302T100000Z\r\nEND:VEVENT\r\n" TAIL,
		       8, "second DTSTART");
	/* Zero-length events (DTEND = DTSTART) are common in real exports. */
	{
		lks_calendar *cal = NULL;

		assert_int_equal(parse(&cal,
				       HEAD "BEGIN:VEVENT\r\n" EVENT_IDS
					    "DTSTART:20270301T100000Z\r\nDTEND:20270301T100000Z\r\n"
					    "END:VEVENT\r\n" TAIL),
				 0);
		lks_ical_free(cal);
	}
}

static void test_libical_errors(void **state)
{
	(void)state;
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:2027-03-01 10:00\r\n"
			    "END:VEVENT\r\n" TAIL,
		       7, "DTSTART: '2027-03-01 10:00' is not a valid DATE-TIME value");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20271345T100000Z\r\n"
			    "END:VEVENT\r\n" TAIL,
		       7, "DTSTART");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "X-LIC-ERROR:left by an earlier tool\r\nEND:VEVENT\r\n" TAIL,
		       8, "left by an earlier tool");
	expect_refused(HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
			    "RRULE:FREQ=SOMETIMES\r\nEND:VEVENT\r\n" TAIL,
		       8, "RRULE");
}

static void test_timezone_rules(void **state)
{
	(void)state;
	expect_refused(HEAD "BEGIN:VTIMEZONE\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\n"
			    "TZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" TAIL,
		       4, "VTIMEZONE has no TZID");
	expect_refused(HEAD "BEGIN:VTIMEZONE\r\nTZID:A\r\nEND:VTIMEZONE\r\n" TAIL, 4,
		       "no STANDARD or DAYLIGHT");
	expect_refused(HEAD "BEGIN:VTIMEZONE\r\nTZID:A\r\nBEGIN:STANDARD\r\n"
			    "DTSTART:19700101T000000\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" TAIL,
		       6, "STANDARD has no TZOFFSETTO");
	/* libical would expand this once a second for 500 years. */
	expect_refused(HEAD "BEGIN:VTIMEZONE\r\nTZID:A\r\nBEGIN:STANDARD\r\n"
			    "DTSTART:19700101T000000\r\nTZOFFSETTO:+0100\r\nTZOFFSETFROM:+0100\r\n"
			    "RRULE:FREQ=SECONDLY\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" TAIL,
		       10, "time zone rules must repeat");
	expect_refused(HEAD
		       "BEGIN:VTIMEZONE\r\nTZID:A\r\nBEGIN:STANDARD\r\n"
		       "DTSTART:19700101T000000\r\nTZOFFSETTO:+0100\r\n"
		       "RRULE:FREQ=YEARLY;BYHOUR=1,2,3\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n" TAIL,
		       9, "time zone rules must repeat");
}

static void test_limits(void **state)
{
	char *text = malloc(64 * 1024);
	lks_calendar *cal = NULL;
	size_t n = 0;
	int i;

	(void)state;
	assert_non_null(text);
	n += (size_t)snprintf(text + n, 1024,
			      HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n");
	for (i = 0; i < LKS_ICAL_MAX_DEPTH + 2; i++)
		n += (size_t)snprintf(text + n, 64, "BEGIN:X-N\r\n");
	assert_int_equal(lks_ical_parse(&cal, text, n), LKS_ETOOBIG);
	assert_null(cal);
	free(text);
	assert_int_equal(lks_ical_parse(NULL, "x", 1), LKS_EINVAL);
}

/* ---- recurrence rules in words ---- */

static void expect_words(const char *rule, const char *want)
{
	char *words = NULL;

	assert_int_equal(lks_ical_rrule_words(&words, rule), 0);
	if (strcmp(words, want) != 0)
		print_error("%s -> '%s' (wanted '%s')\n", rule, words, want);
	assert_string_equal(words, want);
	free(words);
}

static void test_rrule_words(void **state)
{
	char *words = NULL;

	(void)state;
	expect_words("FREQ=WEEKLY;BYDAY=MO;UNTIL=20270301T000000Z",
		     "every week on Monday until 1 March 2027");
	expect_words("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE", "every 2 weeks on Monday and Wednesday");
	expect_words("FREQ=WEEKLY;BYDAY=FR,MO,WE", "every week on Monday, Wednesday and Friday");
	expect_words("FREQ=MONTHLY;BYMONTHDAY=15", "every month on the 15th");
	expect_words("FREQ=MONTHLY;BYMONTHDAY=1,-1", "every month on the 1st and the last day");
	expect_words("FREQ=YEARLY", "every year");
	expect_words("FREQ=DAILY;COUNT=10", "daily, 10 times");
	expect_words("FREQ=DAILY;COUNT=1", "daily, once");
	expect_words("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", "every weekday");
	expect_words("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;WKST=SU", "every weekday");
	expect_words("FREQ=MONTHLY;BYDAY=-1FR", "every month on the last Friday");
	expect_words("FREQ=MONTHLY;BYDAY=FR;BYSETPOS=-1", "every month on the last Friday");
	expect_words("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
		     "every month on the last weekday");
	expect_words("FREQ=MONTHLY;BYDAY=1MO,3MO", "every month on the first Monday and the third "
						   "Monday");
	expect_words("FREQ=MONTHLY;INTERVAL=3;BYDAY=-2TH",
		     "every 3 months on the second-to-last Thursday");
	expect_words("FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
		     "every year on the fourth Thursday of November");
	expect_words("FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=1", "every year on 1 March");
	expect_words("FREQ=YEARLY;BYMONTH=1,7", "every year in January and July");
	expect_words("freq=hourly;interval=6", "every 6 hours");
	expect_words("FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "every year on Monday (BYWEEKNO=20)");
	expect_words("FREQ=DAILY;BYHOUR=9,17;COUNT=4", "daily, 4 times (BYHOUR=9,17)");
	expect_words("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "every month (BYDAY=FR;BYMONTHDAY=13)");
	expect_words("FREQ=WEEKLY;BYDAY=1MO", "every week (BYDAY=1MO)");
	expect_words("FREQ=MONTHLY;BYSETPOS=2", "every month (BYSETPOS=2)");
	expect_words("FREQ=WEEKLY;BYDAY=XX", "every week (BYDAY=XX)");
	expect_words("FREQ=MONTHLY;RSCALE=CHINESE;SKIP=FORWARD",
		     "every month (RSCALE=CHINESE;SKIP=FORWARD)");
	assert_int_equal(lks_ical_rrule_words(&words, "BYDAY=MO"), LKS_EINVAL);
	assert_int_equal(lks_ical_rrule_words(&words, "FREQ=FORTNIGHTLY"), LKS_EINVAL);
	assert_int_equal(lks_ical_rrule_words(&words, "nonsense"), LKS_EINVAL);
	assert_int_equal(lks_ical_rrule_words(&words, NULL), LKS_EINVAL);
	assert_null(words);
}

static void test_rrule_in_model(void **state)
{
	lks_calendar *cal = NULL;

	(void)state;
	assert_int_equal(parse(&cal, HEAD
			       "BEGIN:VEVENT\r\n" EVENT_IDS
			       "DTSTART;TZID=Europe/Paris:20270301T093000\r\n"
			       "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\r\nEND:VEVENT\r\n" TAIL),
			 0);
	assert_non_null(strstr(only(cal)->rrule, "FREQ=WEEKLY"));
	assert_string_equal(only(cal)->rrule_words, "every weekday");
	lks_ical_free(cal);
}

/* ---- feed ---- */

static void test_feed(void **state)
{
	const char *crlf = HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART:20270301T100000Z\r\n"
				"END:VEVENT\r\n" TAIL;
	const char *lf =
	    "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n"
	    "REFRESH-INTERVAL;VALUE=DURATION:P1W\nBEGIN:VEVENT\n"
	    "X-PUBLISHED-TTL:inside an event does not count\nEND:VEVENT\nEND:VCALENDAR";
	char *out = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(lks_ical_feed(&out, &len, crlf, strlen(crlf), 3600), 0);
	assert_int_equal(len, strlen(out));
	assert_true(strncmp(out,
			    "BEGIN:VCALENDAR\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"
			    "X-PUBLISHED-TTL:PT1H\r\n",
			    strlen("BEGIN:VCALENDAR\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n"
				   "X-PUBLISHED-TTL:PT1H\r\n")) == 0);
	/* the rest is byte-identical */
	assert_string_equal(out + strlen("BEGIN:VCALENDAR\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H"
					 "\r\nX-PUBLISHED-TTL:PT1H\r\n"),
			    crlf + strlen("BEGIN:VCALENDAR\r\n"));
	free(out);

	/* clamped to 15 minutes and to a day */
	assert_int_equal(lks_ical_feed(&out, &len, crlf, strlen(crlf), 5), 0);
	assert_non_null(strstr(out, "REFRESH-INTERVAL;VALUE=DURATION:PT15M\r\n"));
	free(out);
	assert_int_equal(lks_ical_feed(&out, &len, crlf, strlen(crlf), 7L * 86400), 0);
	assert_non_null(strstr(out, "X-PUBLISHED-TTL:PT24H\r\n"));
	free(out);
	assert_int_equal(lks_ical_feed(&out, &len, crlf, strlen(crlf), 5430), 0);
	assert_non_null(strstr(out, "X-PUBLISHED-TTL:PT1H30M30S\r\n"));
	free(out);

	/* LF file that has REFRESH-INTERVAL: only the TTL is added, with LF */
	assert_int_equal(lks_ical_feed(&out, &len, lf, strlen(lf), 7200), 0);
	assert_string_equal(out, "BEGIN:VCALENDAR\nX-PUBLISHED-TTL:PT2H\nVERSION:2.0\nPRODID:x\n"
				 "REFRESH-INTERVAL;VALUE=DURATION:P1W\nBEGIN:VEVENT\n"
				 "X-PUBLISHED-TTL:inside an event does not count\nEND:VEVENT\n"
				 "END:VCALENDAR");
	free(out);

	/* nothing to add: identical bytes */
	{
		const char *both = "BEGIN:VCALENDAR\r\nX-PUBLISHED-TTL:PT1H\r\n"
				   "REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\nEND:VCALENDAR\r\n";

		assert_int_equal(lks_ical_feed(&out, &len, both, strlen(both), 60), 0);
		assert_int_equal(len, strlen(both));
		assert_memory_equal(out, both, len);
		free(out);
	}
	assert_int_equal(lks_ical_feed(&out, &len, "BEGIN:VCARD\r\n", 13, 60), LKS_EBADCONTENT);
	assert_int_equal(lks_ical_feed(NULL, &len, crlf, 1, 60), LKS_EINVAL);
}

/* ---- threads ---- */

static void *parse_many(void *arg)
{
	static const char *const zones[] = {"Europe/Berlin",	 "US/Eastern",	   "Asia/Tokyo",
					    "America/Sao_Paulo", "Etc/GMT+5",	   "Australia/ACT",
					    "Europe/Kiev",	 "Pacific/Chatham"};
	char text[1024];
	intptr_t id = (intptr_t)arg;
	int i, fails = 0;

	for (i = 0; i < 300; i++) {
		lks_calendar *cal = NULL;
		const char *zone = zones[(i + id) % 8];

		snprintf(text, sizeof(text),
			 HEAD "BEGIN:VEVENT\r\n" EVENT_IDS "DTSTART;TZID=%s:2027%02d01T120000\r\n"
			      "DTEND;TZID=%s:2027%02d01T130000\r\nRRULE:FREQ=MONTHLY;BYDAY=-1FR\r\n"
			      "END:VEVENT\r\n" PARIS_LIKE
			      "BEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20270101T000000Z\r\n"
			      "DTSTART;TZID=Office Time:2027%02d01T120000\r\nEND:VEVENT\r\n" TAIL,
			 zone, i % 12 + 1, zone, i % 12 + 1, i % 12 + 1);
		if (lks_ical_parse(&cal, text, strlen(text)) != 0 ||
		    lks_ical_get(cal, 1)->start.utc - lks_ical_get(cal, 1)->start.utc % 60 !=
			lks_ical_get(cal, 1)->start.utc)
			fails++;
		lks_ical_free(cal);
		cal = NULL;
		if (i % 50 == 0 && lks_ical_parse(&cal, "BEGIN:VCALENDAR\r\n", 17) == 0)
			fails++;
		lks_ical_free(cal);
	}
	return (void *)(intptr_t)fails;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *res = NULL;
	intptr_t i;

	(void)state;
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parse_many, (void *)i), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &res), 0);
		assert_int_equal((intptr_t)res, 0);
	}
}

/* ---- the shared corpus ---- */

struct tally {
	int files, accepted, refused, toobig;
	double slowest;
	char slowest_name[512];
};

static int wanted(const char *name)
{
	size_t n = strlen(name);

	return n > 4 && strcasecmp(name + n - 4, ".ics") == 0;
}

static void walk(const char *dir, const char *root, struct tally *t)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			walk(path, root, t);
		} else if (S_ISREG(st.st_mode) && wanted(e->d_name)) {
			FILE *f = fopen(path, "rb");
			char *buf = malloc((size_t)st.st_size + 1);
			lks_calendar *cal = NULL;
			struct timespec a, b;
			double secs;
			int rc;

			assert_non_null(f);
			assert_non_null(buf);
			assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
			fclose(f);
			clock_gettime(CLOCK_MONOTONIC, &a);
			rc = lks_ical_parse(&cal, buf, (size_t)st.st_size);
			clock_gettime(CLOCK_MONOTONIC, &b);
			secs =
			    (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
			if (secs > t->slowest) {
				t->slowest = secs;
				snprintf(t->slowest_name, sizeof(t->slowest_name), "%s",
					 path + strlen(root) + 1);
			}
			t->files++;
			if (rc == 0) {
				char *sum = NULL;

				t->accepted++;
				assert_int_equal(lks_ical_summary(&sum, cal), 0);
				assert_non_null(sum);
				free(sum);
			} else {
				if (rc != LKS_EBADCONTENT && rc != LKS_ETOOBIG)
					print_error("%s: rc %d %s\n", path, rc,
						    lks_error_message());
				assert_true(rc == LKS_EBADCONTENT || rc == LKS_ETOOBIG);
				assert_true(strlen(lks_error_message()) > 0);
				t->refused++;
				printf("  refused %s: %s\n", path + strlen(root) + 1,
				       lks_error_message());
			}
			lks_ical_free(cal);
			free(buf);
		}
	}
	closedir(d);
}

static void test_corpus(void **state)
{
	const char *corpus = getenv("LKS_CORPUS");
	char dir[1024];
	struct tally t;

	(void)state;
	if (!corpus) {
		printf("LKS_CORPUS is not set: corpus walk skipped\n");
		skip();
	}
	memset(&t, 0, sizeof(t));
	snprintf(dir, sizeof(dir), "%s/ical", corpus);
	walk(dir, dir, &t);
	printf("corpus: %d .ics files, %d accepted, %d refused; slowest %s in %.3f s\n", t.files,
	       t.accepted, t.refused, t.slowest_name, t.slowest);
	assert_true(t.files > 0);
	assert_true(t.accepted > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utc_event),
	    cmocka_unit_test(test_all_day),
	    cmocka_unit_test(test_floating),
	    cmocka_unit_test(test_embedded_vtimezone),
	    cmocka_unit_test(test_builtin_zone),
	    cmocka_unit_test(test_unknown_zone),
	    cmocka_unit_test(test_todo_and_journal),
	    cmocka_unit_test(test_several_and_unknown_parts),
	    cmocka_unit_test(test_client_quirks),
	    cmocka_unit_test(test_lf_bom_and_folding),
	    cmocka_unit_test(test_structure),
	    cmocka_unit_test(test_calendar_properties),
	    cmocka_unit_test(test_component_properties),
	    cmocka_unit_test(test_libical_errors),
	    cmocka_unit_test(test_timezone_rules),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_rrule_words),
	    cmocka_unit_test(test_rrule_in_model),
	    cmocka_unit_test(test_feed),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_linear_time),
	    cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
