/* The calendar part of the item page: each event, to-do and journal entry
 * with its title, its time in its own zone (and the zone's name), all-day
 * dates, place, notes and recurrence in words, from the model lks_ical_parse
 * builds. */
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void text(struct buf *b, const char *s)
{
	if (s != NULL)
		lks_page_text(b, s, strlen(s));
}

static int same_day(const lks_ical_time *a, const lks_ical_time *b)
{
	return a->year == b->year && a->month == b->month && a->day == b->day;
}

static void clock_text(char *out, size_t outsz, const lks_ical_time *t)
{
	if (t->second != 0)
		snprintf(out, outsz, "%02d:%02d:%02d", t->hour, t->minute, t->second);
	else
		snprintf(out, outsz, "%02d:%02d", t->hour, t->minute);
}

/* The zone's name as shown after a time. */
static const char *zone_label(const lks_ical_time *t)
{
	switch (t->zone) {
	case LKS_ICAL_UTC:
		return "UTC";
	case LKS_ICAL_TZID:
		return t->tzid ? t->tzid : "";
	case LKS_ICAL_FLOATING:
		break;
	}
	return "local time";
}

static int same_zone(const lks_ical_time *a, const lks_ical_time *b)
{
	return a->zone == b->zone && strcmp(zone_label(a), zone_label(b)) == 0;
}

/* A date-time as "Monday 1 March 2027, 12:30" (with_date) or "12:30", inside
 * a <time> element; zoned times carry their UTC instant for item.js. */
static void instant(struct buf *b, const lks_ical_time *t, int with_date)
{
	char date[64], clock[16];

	lks_page_date(date, sizeof(date), t->year, t->month, t->day);
	clock_text(clock, sizeof(clock), t);
	if (t->zone == LKS_ICAL_FLOATING) {
		buf_printf(b, "<time datetime=\"%04d-%02d-%02dT%02d:%02d:%02d\">", t->year,
			   t->month, t->day, t->hour, t->minute, t->second);
	} else {
		time_t u = (time_t)t->utc;
		struct tm tm;

		gmtime_r(&u, &tm);
		buf_printf(b,
			   "<time datetime=\"%04d-%02d-%02dT%02d:%02d:%02dZ\" "
			   "data-wall=\"%04d-%02d-%02dT%02d:%02d\">",
			   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			   tm.tm_sec, t->year, t->month, t->day, t->hour, t->minute);
	}
	if (with_date)
		buf_printf(b, "%s, %s</time>", date, clock);
	else
		buf_printf(b, "%s</time>", clock);
}

static void zone(struct buf *b, const lks_ical_time *t)
{
	buf_puts(b, " <span class=\"zone\">(");
	text(b, zone_label(t));
	buf_puts(b, ")</span>");
}

/* An all-day date inside a <time> element. */
static void day(struct buf *b, int y, int m, int d)
{
	char date[64];

	lks_page_date(date, sizeof(date), y, m, d);
	buf_printf(b, "<time datetime=\"%04d-%02d-%02d\">%s</time>", y, m, d, date);
}

/* The day before a date (DTEND of an all-day event is exclusive). */
static void previous_day(int *y, int *m, int *d)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (*d > 1) {
		(*d)--;
		return;
	}
	if (*m > 1) {
		(*m)--;
	} else {
		*m = 12;
		(*y)--;
	}
	*d = mdays[*m - 1];
	if (*m == 2 && ((*y % 4 == 0 && *y % 100 != 0) || *y % 400 == 0))
		*d = 29;
}

/* A start with an optional end: a range of dates, or of times. */
static void range(struct buf *b, const lks_ical_time *s, const lks_ical_time *e)
{
	if (s->date_only) {
		if (e != NULL && e->present && e->date_only) {
			int y = e->year, m = e->month, d = e->day;

			previous_day(&y, &m, &d);
			day(b, s->year, s->month, s->day);
			if (e->utc > s->utc && !(y == s->year && m == s->month && d == s->day)) {
				buf_puts(b, " – ");
				day(b, y, m, d);
			}
		} else if (e != NULL && e->present) {
			day(b, s->year, s->month, s->day);
			buf_puts(b, " – ");
			instant(b, e, 1);
			zone(b, e);
			return;
		} else {
			day(b, s->year, s->month, s->day);
		}
		buf_puts(b, " <span class=\"zone\">(all day)</span>");
		return;
	}
	instant(b, s, 1);
	if (e == NULL || !e->present || (e->utc == s->utc && same_zone(s, e))) {
		zone(b, s);
		return;
	}
	if (!same_zone(s, e)) {
		zone(b, s);
		buf_puts(b, " – ");
		instant(b, e, !same_day(s, e) || e->date_only);
		zone(b, e);
		return;
	}
	buf_puts(b, " – ");
	instant(b, e, !same_day(s, e));
	zone(b, s);
}

void lks_page_when(struct buf *b, const lks_ical_component *c)
{
	switch (c->kind) {
	case LKS_ICAL_EVENT:
		if (c->start.present)
			range(b, &c->start, &c->end);
		break;
	case LKS_ICAL_TODO:
		if (c->start.present) {
			buf_puts(b, "from ");
			range(b, &c->start, NULL);
			if (c->end.present)
				buf_puts(b, ", ");
		}
		if (c->end.present) {
			buf_puts(b, "due ");
			range(b, &c->end, NULL);
		}
		if (!c->start.present && !c->end.present)
			buf_puts(b, "no due date");
		break;
	case LKS_ICAL_JOURNAL:
		if (c->start.present)
			range(b, &c->start, NULL);
		break;
	}
}

/* One labelled row of an entry; value is user text (escaped). */
static void row(struct buf *b, const char *label, const char *value, const char *cls)
{
	if (value == NULL || *value == '\0')
		return;
	buf_printf(b, "<dt>%s</dt><dd%s%s%s>", label, cls ? " class=\"" : "", cls ? cls : "",
		   cls ? "\"" : "");
	text(b, value);
	buf_puts(b, "</dd>");
}

static const char *kind_label(lks_ical_kind kind)
{
	switch (kind) {
	case LKS_ICAL_EVENT:
		return "Event";
	case LKS_ICAL_TODO:
		return "To-do";
	case LKS_ICAL_JOURNAL:
		return "Journal entry";
	}
	return "Entry";
}

/* One entry; its title is left out when the page's h1 already says it. */
static void entry(struct buf *b, const lks_ical_component *c, int titled)
{
	size_t dl_start;

	buf_puts(b, "<article class=\"entry\">\n");
	if (!titled) {
		buf_puts(b, "<h2>");
		if (c->summary != NULL && *c->summary != '\0')
			text(b, c->summary);
		else
			buf_puts(b, "<span class=\"muted\">(no title)</span>");
		buf_puts(b, "</h2>\n");
	}
	if (c->status != NULL && strcmp(c->status, "CANCELLED") == 0)
		buf_puts(b, "<p class=\"badge cancelled\">Cancelled</p>\n");
	else if (c->kind != LKS_ICAL_EVENT)
		buf_printf(b, "<p class=\"badge\">%s</p>\n", kind_label(c->kind));
	buf_puts(b, "<p class=\"when\">");
	lks_page_when(b, c);
	buf_puts(b, "</p>\n");
	if (c->rrule_words != NULL && *c->rrule_words != '\0') {
		buf_puts(b, "<p class=\"repeat\">Repeats ");
		text(b, c->rrule_words);
		buf_puts(b, "</p>\n");
	} else if (c->rrule != NULL && *c->rrule != '\0') {
		buf_puts(b, "<p class=\"repeat\">Repeats (");
		text(b, c->rrule);
		buf_puts(b, ")</p>\n");
	}
	buf_puts(b, "<dl>");
	dl_start = b->len;
	row(b, "Place", c->location, NULL);
	if (c->organizer != NULL && *c->organizer != '\0') {
		buf_puts(b, "<dt>Organiser</dt><dd>");
		text(b, c->organizer);
		if (c->organizer_email != NULL && *c->organizer_email != '\0' &&
		    strcmp(c->organizer_email, c->organizer) != 0) {
			buf_puts(b, " &lt;<a href=\"mailto:");
			lks_page_url_encode(b, c->organizer_email, strlen(c->organizer_email),
					    "@+!$*=^{|}");
			buf_puts(b, "\">");
			text(b, c->organizer_email);
			buf_puts(b, "</a>&gt;");
		}
		buf_puts(b, "</dd>");
	}
	if (lks_page_is_web_url(c->url)) {
		buf_puts(b, "<dt>Link</dt><dd><a rel=\"noopener noreferrer nofollow\" href=\"");
		text(b, c->url);
		buf_puts(b, "\">");
		text(b, c->url);
		buf_puts(b, "</a></dd>");
	}
	row(b, "Notes", c->description, "text");
	if (c->status != NULL && strcmp(c->status, "TENTATIVE") == 0)
		row(b, "Status", "Tentative", NULL);
	if (!b->failed && b->len == dl_start) {
		b->len -= 4; /* no rows: drop the empty <dl> */
		b->data[b->len] = '\0';
		buf_puts(b, "</article>\n");
		return;
	}
	buf_puts(b, "</dl>\n</article>\n");
}

static int by_start(const void *pa, const void *pb)
{
	const lks_ical_component *a = *(const lks_ical_component *const *)pa;
	const lks_ical_component *b = *(const lks_ical_component *const *)pb;
	/* To-dos without dates go last; ties keep the file's order. */
	long long ka = a->start.present ? a->start.utc : a->end.present ? a->end.utc : (1LL << 62);
	long long kb = b->start.present ? b->start.utc : b->end.present ? b->end.utc : (1LL << 62);

	if (ka != kb)
		return ka < kb ? -1 : 1;
	return a->line < b->line ? -1 : a->line > b->line;
}

const char *lks_page_calendar_title(const lks_calendar *cal)
{
	const lks_ical_component *c;

	if (lks_ical_name(cal) != NULL && *lks_ical_name(cal) != '\0')
		return lks_ical_name(cal);
	c = lks_ical_get(cal, 0);
	if (lks_ical_count(cal) == 1 && c->summary != NULL && *c->summary != '\0')
		return c->summary;
	return NULL;
}

void lks_page_calendar(struct buf *b, const lks_calendar *cal, int titled)
{
	size_t n = lks_ical_count(cal), shown;
	const lks_ical_component **order = NULL;

	if (n == 0) {
		buf_puts(b, "<p class=\"muted\">This calendar holds no events.</p>\n");
		return;
	}
	order = malloc(n * sizeof(*order));
	if (order == NULL) {
		b->failed = 1;
		return;
	}
	for (size_t i = 0; i < n; i++)
		order[i] = lks_ical_get(cal, i);
	qsort(order, n, sizeof(*order), by_start);
	shown = n < LKS_PAGE_MAX_ENTRIES ? n : LKS_PAGE_MAX_ENTRIES;
	for (size_t i = 0; i < shown; i++)
		entry(b, order[i], titled && n == 1);
	if (n > shown)
		buf_printf(
		    b, "<p class=\"muted\">and %zu more: add the calendar to see them all.</p>\n",
		    n - shown);
	free(order);
}
