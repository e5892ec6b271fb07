/* iCalendar (RFC 5545) items: validate a text/calendar upload with libical plus
 * the rules libical leaves out (one VCALENDAR, VERSION and PRODID, UID and
 * DTSTAMP per event, to-do and journal, a known zone for every TZID, DTSTART
 * before DTEND), name the offending line when refusing, and turn what is
 * accepted into a small read-only model for the pages: titles, local and UTC
 * times, places, recurrence rules in English words. Also writes the calendar as
 * a subscription feed. Every function is safe to call from several threads at
 * once. */
#ifndef LINKSYNC_ICAL_H
#define LINKSYNC_ICAL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Limits of one calendar. Above them lks_ical_parse refuses the input with
 * LKS_ETOOBIG rather than spend unbounded time or memory on it. */
#define LKS_ICAL_MAX_COMPONENTS 50000	/* BEGIN lines */
#define LKS_ICAL_MAX_PROPERTIES 1000000 /* content lines other than BEGIN/END */
#define LKS_ICAL_MAX_DEPTH 12		/* components nested in components */

/* Bounds of the refresh interval lks_ical_feed writes, in seconds. */
#define LKS_ICAL_FEED_MIN_TTL 900
#define LKS_ICAL_FEED_MAX_TTL 86400

typedef struct lks_calendar lks_calendar;

typedef enum lks_ical_kind {
	LKS_ICAL_EVENT,	  /* VEVENT */
	LKS_ICAL_TODO,	  /* VTODO */
	LKS_ICAL_JOURNAL, /* VJOURNAL */
} lks_ical_kind;

typedef enum lks_ical_zone {
	LKS_ICAL_FLOATING, /* no zone: the same wall time everywhere (and DATE values) */
	LKS_ICAL_UTC,	   /* a time ending in Z */
	LKS_ICAL_TZID,	   /* a TZID parameter naming a zone */
} lks_ical_zone;

/* A date or date-time as the file states it. */
typedef struct lks_ical_time {
	int present;   /* 0 when the property is absent (every other field is 0) */
	int date_only; /* a DATE value: an all-day date, hour/minute/second are 0 */
	int year, month, day, hour, minute, second; /* the wall time as written */
	lks_ical_zone zone;
	/* The zone's name: the TZID as written for LKS_ICAL_TZID, "UTC" for
	 * LKS_ICAL_UTC, NULL for floating times and dates. */
	const char *tzid;
	/* Seconds since 1970-01-01 UTC, for sorting. Dates and floating times
	 * have no zone: they are read as if they were UTC. */
	long long utc;
} lks_ical_time;

/* One event, to-do or journal entry. Every string is valid UTF-8 (bytes that
 * are not become U+FFFD), unescaped (RFC 5545 TEXT: "\n" is a line break),
 * owned by the calendar, and NULL when the property is absent. */
typedef struct lks_ical_component {
	lks_ical_kind kind;
	unsigned line;	     /* line of its BEGIN in the input, from 1 */
	const char *uid;     /* never NULL */
	const char *summary; /* the title */
	const char *location;
	const char *description;
	const char *status;	     /* as written, e.g. "CONFIRMED", "NEEDS-ACTION" */
	const char *organizer;	     /* its CN= name, else its address */
	const char *organizer_email; /* its address without "mailto:" */
	const char *url;
	const char *rrule;	 /* the recurrence rule, e.g. "FREQ=WEEKLY;BYDAY=MO" */
	const char *rrule_words; /* the same in English (lks_ical_rrule_words) */
	lks_ical_time start;	 /* DTSTART (always present for events) */
	/* Events: DTEND, or DTSTART + DURATION. To-dos: DUE, or DTSTART +
	 * DURATION. Journals: absent. */
	lks_ical_time end;
} lks_ical_component;

/* Validates data (len bytes, not NUL-terminated; the bytes are only read) as
 * one iCalendar object and builds its model. On success *out is a calendar
 * the caller frees with lks_ical_free. Returns 0; LKS_EBADCONTENT when the
 * data is not iCalendar or breaks a rule, with a message naming the line to
 * fix ("line 12: VEVENT has no UID") in lks_error_message(); LKS_ETOOBIG
 * beyond the LKS_ICAL_MAX_* limits; LKS_EINVAL for NULL arguments;
 * LKS_ENOMEM. */
int lks_ical_parse(lks_calendar **out, const char *data, size_t len);

/* Frees a calendar; NULL is fine. */
void lks_ical_free(lks_calendar *cal);

/* Number of events, to-dos and journal entries, in file order. */
size_t lks_ical_count(const lks_calendar *cal);

/* The i-th of them (borrowed, valid until lks_ical_free), NULL when i is out
 * of range. */
const lks_ical_component *lks_ical_get(const lks_calendar *cal, size_t i);

/* The calendar's own name (X-WR-CALNAME or NAME), NULL when absent. */
const char *lks_ical_name(const lks_calendar *cal);

/* One line that says what the calendar holds: the first event's (else
 * to-do's, else journal's) title and start, e.g. "Team lunch, 2027-03-01
 * 12:30 (Europe/Paris)", "Holiday, 2027-03-01", "Buy milk, due 2027-03-01",
 * followed by " + 2 more" when there are others. *out is NUL-terminated and
 * freed by the caller. Returns 0, LKS_EINVAL or LKS_ENOMEM. */
int lks_ical_summary(char **out, const lks_calendar *cal);

/* Describes a recurrence rule (RFC 5545 RECUR, e.g. "FREQ=WEEKLY;BYDAY=MO,WE;
 * INTERVAL=2") in English: "every 2 weeks on Monday and Wednesday", "every
 * month on the last Friday", "daily, 10 times", "every weekday", "every week
 * on Monday until 1 March 2027". Parts it cannot put into words are quoted
 * as written after the words, e.g. "every year (BYWEEKNO=20)", so the text
 * never says less than the rule. *out is NUL-terminated and freed by the
 * caller. Returns 0, LKS_EINVAL (NULL, or not a rule: no valid FREQ) or
 * LKS_ENOMEM. */
int lks_ical_rrule_words(char **out, const char *rrule);

/* Writes the calendar in data (len bytes, already accepted by lks_ical_parse)
 * as a subscription feed: the same bytes, with
 * "REFRESH-INTERVAL;VALUE=DURATION:PT..." and "X-PUBLISHED-TTL:PT..." lines
 * inserted after the BEGIN:VCALENDAR line when the calendar lacks them (each
 * is added only if absent; existing ones are kept as they are). The interval
 * is ttl_seconds clamped to [LKS_ICAL_FEED_MIN_TTL, LKS_ICAL_FEED_MAX_TTL].
 * *out (NUL-terminated, *out_len bytes before the NUL) is freed by the
 * caller. Returns 0, LKS_EINVAL, LKS_EBADCONTENT (data does not start with a
 * VCALENDAR) or LKS_ENOMEM. */
int lks_ical_feed(char **out, size_t *out_len, const char *data, size_t len, long ttl_seconds);

#ifdef __cplusplus
}
#endif
#endif
