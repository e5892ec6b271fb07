/* iCalendar validation and the page model. Our own line scanner unfolds the
 * input, numbers its lines and checks the structure (one VCALENDAR, matched
 * BEGIN/END), then feeds libical's line-by-line parser one content line at a
 * time, so a line libical cannot read is known by its number. The components
 * of libical's tree and of our scan are then paired in document order, which
 * gives every RFC 5545 rule we check a line to name. Zone lookups go through a
 * mutex and a name filter because libical's builtin zone table is shared,
 * grows without a lock and is indexed by file paths built from the TZID. */
#include "linksync/ical.h"
#include "linksync/error.h"

#include <libical/ical.h>

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---------------------------------------------------------------------------
 * Growable strings
 * ------------------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
	char *np = NULL;
	size_t ncap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		ncap = b->cap ? b->cap : 64;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = realloc(b->p, ncap);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	sb_putn(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Hands the buffer to the caller as *out (an empty string rather than NULL). */
static int sb_finish(struct sbuf *b, char **out)
{
	if (!b->oom && !b->p)
		sb_putn(b, "", 0);
	if (b->oom) {
		free(b->p);
		b->p = NULL;
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	*out = b->p;
	b->p = NULL;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Text helpers
 * ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	uint32_t c;
	size_t len, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, c = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return len;
}

/* Appends at most max bytes of s as valid UTF-8 (U+FFFD for bad bytes),
 * cutting only between characters and marking a cut with "...". */
static void sb_put_utf8(struct sbuf *b, const char *s, size_t max)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, k, used = 0;

	while (i < n) {
		k = utf8_seq(u + i, n - i);
		if (used + (k ? k : 3) > max) {
			sb_puts(b, "...");
			return;
		}
		if (k) {
			sb_putn(b, s + i, k);
			i += k;
			used += k;
		} else {
			sb_puts(b, "\xef\xbf\xbd");
			i++;
			used += 3;
		}
	}
}

static int is_name_char(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-';
}

static int has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	if (m < 1 || m > 12)
		return 0;
	return dim[m - 1] + (m == 2 && leap);
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long long days_from_civil(long long y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static const char *const month_names[] = {"January",   "February", "March",    "April",
					  "May",       "June",	   "July",     "August",
					  "September", "October",  "November", "December"};

/* ---------------------------------------------------------------------------
 * libical's shared state
 *
 * What libical 3.0.16 (built with pthreads, as Debian's is) shares between
 * threads, and how this file deals with it:
 * - icalerrno and the icalmemory ring of temporary strings are per thread.
 * - icalerror's fatal-error switch and its per-error state table are global;
 *   icalparser_parse saves and restores an entry of the table without a lock.
 *   We never call icalparser_parse (we feed lines with icalparser_add_line,
 *   which does not touch the table) and we turn fatal errors off once, so a
 *   malformed file can never abort the process through assert(). The PERIOD
 *   and REQUEST-STATUS value parsers still save and restore the entry for
 *   malformed data between DEFAULT and NONFATAL unlocked; with fatal errors
 *   off both states behave the same, so no interleaving changes a result.
 * - The builtin zone table: icaltimezone_get_builtin_timezone appends zones
 *   that are not in zone.tab to a global array without a lock, while other
 *   threads scan it; every lookup here holds zone_mutex. It also builds a
 *   path from the name and opens it under /usr/share/zoneinfo without any
 *   check, so "../../../dev/stdin" would open that file: only names made of
 *   zone-name characters, without dots, reach it.
 * - UTC offsets: libical expands a zone's transitions under its own global
 *   mutex. The expansion follows the zone's rules up to the year asked for,
 *   so rules that repeat more than yearly are refused and years are capped
 *   (see zone_rule_ok and utc_of).
 * ------------------------------------------------------------------------- */

static pthread_once_t ical_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t zone_mutex = PTHREAD_MUTEX_INITIALIZER;

static void ical_init(void)
{
	icalerror_set_errors_are_fatal(0);
	pthread_mutex_lock(&zone_mutex);
	(void)icaltimezone_get_utc_timezone(); /* loads zone.tab once */
	pthread_mutex_unlock(&zone_mutex);
}

/* A name that can only designate a file under the zoneinfo directory. */
static int zone_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '/' || name[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];

		if (!isalnum((unsigned char)c) && c != '_' && c != '-' && c != '+' && c != '/')
			return 0;
		if (c == '/' && name[i + 1] == '/')
			return 0;
	}
	return 1;
}

static icaltimezone *builtin_zone_exact(const char *name)
{
	icaltimezone *zone = NULL;

	if (!zone_name_ok(name))
		return NULL;
	pthread_mutex_lock(&zone_mutex);
	zone = icaltimezone_get_builtin_timezone(name);
	pthread_mutex_unlock(&zone_mutex);
	return zone;
}

/* An IANA zone libical knows: the name itself, or for TZIDs such as
 * "/freeassociation.sourceforge.net/Tzfile/Europe/London" or
 * "/mozilla.org/20050126_1/America/New_York" its trailing segments. */
static icaltimezone *builtin_zone(const char *tzid)
{
	icaltimezone *zone = NULL;
	const char *p = tzid;
	int probes = 0;

	if (tzid[0] != '/')
		return builtin_zone_exact(tzid);
	while (p && probes < 8) {
		p = strchr(p, '/');
		if (!p)
			break;
		p++;
		if (strchr(p, '/') == NULL && probes > 0 && strcmp(p, "UTC") != 0)
			break; /* a bare last segment ("London") is no zone name */
		zone = builtin_zone_exact(p);
		if (zone)
			return zone;
		probes++;
	}
	return NULL;
}

/* ---------------------------------------------------------------------------
 * The scan: logical lines and components with their line numbers
 * ------------------------------------------------------------------------- */

enum line_kind { LINE_PROP, LINE_BEGIN, LINE_END };

struct line {
	unsigned lineno;   /* physical line where it starts */
	char *text;	   /* unfolded, NUL-terminated */
	size_t name_len;   /* text[0..name_len) is the name */
	const char *value; /* after the first ':' outside quotes */
	enum line_kind kind;
	int node; /* the component it belongs to */
};

struct node {
	const char *name; /* as written (a line's value), NUL-terminated */
	unsigned begin, end;
	int parent;
	int skipped; /* unknown component, not given to libical */
	icalcomponent_kind ikind;
	size_t first_line, last_line;
	int first_child, last_child, next_sibling;
	icalcomponent *ic;
};

struct zone_ref {
	char *tzid;
	icaltimezone *zone;
};

struct parse {
	const char *data;
	size_t len;
	char *arena;
	struct line *lines;
	size_t nlines, caplines;
	struct node *nodes;
	size_t nnodes, capnodes;
	icalparser *parser;
	icalcomponent *root;
	struct zone_ref *zones;
	size_t nzones, capzones;
	lks_calendar *cal;
};

struct lks_calendar {
	lks_ical_component *items;
	size_t count, cap;
	char **strings;
	size_t nstrings, capstrings;
	const char *name;
};

static int bad(unsigned line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records "line N: ..." as the message and returns LKS_EBADCONTENT. */
static int bad(unsigned line, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		return lks_error_set(LKS_EBADCONTENT, "line %u: %s", line, msg);
	return lks_error_set(LKS_EBADCONTENT, "%s", msg);
}

/* Quotes user text for a message: valid UTF-8, at most 60 bytes. */
static const char *quote(char *buf, size_t size, const char *s)
{
	struct sbuf b = {0};

	sb_put_utf8(&b, s ? s : "", 60);
	snprintf(buf, size, "%s", b.oom || !b.p ? "" : b.p);
	free(b.p);
	return buf;
}

static int push_line(struct parse *ps, unsigned lineno, char *text)
{
	struct line *nl = NULL;
	size_t ncap;

	if (ps->nlines == ps->caplines) {
		ncap = ps->caplines ? ps->caplines * 2 : 256;
		nl = realloc(ps->lines, ncap * sizeof(*nl));
		if (!nl)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		ps->lines = nl;
		ps->caplines = ncap;
	}
	memset(&ps->lines[ps->nlines], 0, sizeof(struct line));
	ps->lines[ps->nlines].lineno = lineno;
	ps->lines[ps->nlines].text = text;
	ps->nlines++;
	if (ps->nlines > LKS_ICAL_MAX_PROPERTIES + 2 * (size_t)LKS_ICAL_MAX_COMPONENTS)
		return lks_error_set(LKS_ETOOBIG, "line %u: more than %d lines", lineno,
				     LKS_ICAL_MAX_PROPERTIES);
	return 0;
}

static int is_blank(const char *p, const char *stop)
{
	while (p < stop && (*p == ' ' || *p == '\t'))
		p++;
	return p == stop;
}

/* Splits the input into unfolded logical lines (RFC 5545 3.1), copying them
 * into one arena; blank lines are skipped. */
static int split_lines(struct parse *ps)
{
	const char *p = ps->data, *end = ps->data + ps->len, *nl, *stop, *cr;
	char *w;
	unsigned lineno = 0;
	int open = 0, rc;

	ps->arena = malloc(ps->len + 1);
	if (!ps->arena)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	w = ps->arena;
	if (ps->len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3; /* UTF-8 byte order mark */
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		stop = nl ? nl : end;
		if (memchr(p, '\0', (size_t)(stop - p)))
			return bad(lineno, "contains a NUL byte: not a text file");
		if (stop > p && stop[-1] == '\r')
			stop--;
		cr = memchr(p, '\r', (size_t)(stop - p));
		if (cr)
			return bad(lineno,
				   "carriage return (CR) inside a line: lines end in CRLF or LF");
		if (is_blank(p, stop)) {
			/* blank: ends the logical line */
			if (open) {
				*w++ = '\0';
				open = 0;
			}
		} else if (*p == ' ' || *p == '\t') {
			if (!open)
				return bad(lineno,
					   "a folded continuation line (starting with a space) "
					   "follows no line");
			memcpy(w, p + 1, (size_t)(stop - p - 1));
			w += stop - p - 1;
		} else {
			if (open)
				*w++ = '\0';
			rc = push_line(ps, lineno, w);
			if (rc)
				return rc;
			memcpy(w, p, (size_t)(stop - p));
			w += stop - p;
			open = 1;
		}
		p = nl ? nl + 1 : end;
	}
	if (open)
		*w++ = '\0';
	return 0;
}

/* Finds the name and the value of a content line ("NAME;P="a:b":value"). */
static int split_content_line(struct line *l)
{
	const char *s = l->text;
	size_t n = 0;
	int quoted = 0;

	while (is_name_char((unsigned char)s[n]))
		n++;
	if (n == 0 || (s[n] != ';' && s[n] != ':'))
		return -1;
	l->name_len = n;
	for (s += n; *s; s++) {
		if (*s == '"')
			quoted = !quoted;
		else if (*s == ':' && !quoted)
			break;
	}
	if (*s != ':')
		return -1;
	l->value = s + 1;
	return 0;
}

static int name_is(const struct line *l, const char *name)
{
	return l->name_len == strlen(name) && strncasecmp(l->text, name, l->name_len) == 0;
}

/* A component value with the trailing blanks removed, in place. */
static char *trim_value(struct line *l)
{
	char *v = (char *)l->value;
	size_t n = strlen(v);

	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t'))
		v[--n] = '\0';
	return v;
}

/* libical's kind for a component name when libical knows that exact name. */
static icalcomponent_kind known_component(const char *name)
{
	icalcomponent_kind k;
	size_t i;

	for (i = 0; name[i]; i++)
		if (!is_name_char((unsigned char)name[i]))
			return ICAL_NO_COMPONENT;
	if (i == 0)
		return ICAL_NO_COMPONENT;
	k = icalcomponent_string_to_kind(name);
	if (k == ICAL_X_COMPONENT)
		return has_prefix_ci(name, "X-") ? k : ICAL_NO_COMPONENT;
	if (k == ICAL_NO_COMPONENT || strcasecmp(icalcomponent_kind_to_string(k), name) != 0)
		return ICAL_NO_COMPONENT;
	if (k == ICAL_XROOT_COMPONENT || k == ICAL_XATTACH_COMPONENT ||
	    k == ICAL_XLICINVALID_COMPONENT || k == ICAL_XLICMIMEPART_COMPONENT ||
	    k == ICAL_ANY_COMPONENT)
		return ICAL_NO_COMPONENT;
	return k;
}

/* Rewrites libical's X-LIC-ERROR text for a user: "Can't parse as DATE-TIME
 * value in DTSTART property. Removing entire property: 2027" becomes
 * "DTSTART: '2027' is not a valid DATE-TIME value". */
static void describe_libical_error(char *buf, size_t size, const char *err)
{
	char type[64], prop[64], q[100];
	const char *text = strstr(err, ": ");
	const char *rest = text ? text + 2 : "";

	if (sscanf(err, "Can't parse as %63s value in %63s property", type, prop) == 2)
		snprintf(buf, size, "%s: '%s' is not a valid %s value", prop,
			 quote(q, sizeof(q), rest), type);
	else if (sscanf(err, "No value for %63s property", prop) == 1)
		snprintf(buf, size, "%s has no value", prop);
	else if (has_prefix_ci(err, "Parse error in property name"))
		snprintf(buf, size, "cannot read the property name '%s'",
			 quote(q, sizeof(q), rest));
	else if (has_prefix_ci(err, "Can't parse parameter name"))
		snprintf(buf, size, "cannot read the parameter '%s'", quote(q, sizeof(q), rest));
	else if (has_prefix_ci(err, "Can't parse parameter value"))
		snprintf(buf, size, "cannot read the parameter value '%s'",
			 quote(q, sizeof(q), rest));
	else
		snprintf(buf, size, "%s", quote(q, sizeof(q), err));
}

/* The first X-LIC-ERROR text in a component tree, or NULL. */
static const char *find_xlicerror(icalcomponent *c)
{
	icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY);
	icalcomponent *k;
	const char *s;

	if (p)
		return icalproperty_get_xlicerror(p);
	for (k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
		s = find_xlicerror(k);
		if (s)
			return s;
	}
	return NULL;
}

/* Why libical refused one content line: the line alone is parsed again in
 * an empty calendar (libical reads each property line on its own) and the
 * X-LIC-ERROR it leaves is put into words. */
static void line_error(char *buf, size_t size, char *text)
{
	char begin[] = "BEGIN:VCALENDAR", end[] = "END:VCALENDAR";
	icalparser *parser = icalparser_new();
	icalcomponent *root = NULL;
	const char *err = NULL;

	snprintf(buf, size, "libical cannot read this line");
	if (!parser)
		return;
	icalparser_add_line(parser, begin);
	icalparser_add_line(parser, text);
	root = icalparser_add_line(parser, end);
	if (root) {
		err = find_xlicerror(root);
		if (err)
			describe_libical_error(buf, size, err);
		icalcomponent_free(root);
	} else {
		/* the parser keeps what icalparser_clean returns */
		root = icalparser_clean(parser);
		err = root ? find_xlicerror(root) : NULL;
		if (err)
			describe_libical_error(buf, size, err);
	}
	icalparser_free(parser);
}

static int push_node(struct parse *ps, const char *name, unsigned lineno, int parent)
{
	struct node *nn = NULL;
	size_t ncap;

	if (ps->nnodes >= LKS_ICAL_MAX_COMPONENTS)
		return lks_error_set(LKS_ETOOBIG, "line %u: more than %d components", lineno,
				     LKS_ICAL_MAX_COMPONENTS);
	if (ps->nnodes == ps->capnodes) {
		ncap = ps->capnodes ? ps->capnodes * 2 : 32;
		nn = realloc(ps->nodes, ncap * sizeof(*nn));
		if (!nn)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		ps->nodes = nn;
		ps->capnodes = ncap;
	}
	memset(&ps->nodes[ps->nnodes], 0, sizeof(struct node));
	ps->nodes[ps->nnodes].name = name;
	ps->nodes[ps->nnodes].begin = lineno;
	ps->nodes[ps->nnodes].parent = parent;
	ps->nodes[ps->nnodes].first_child = -1;
	ps->nodes[ps->nnodes].last_child = -1;
	ps->nodes[ps->nnodes].next_sibling = -1;
	if (parent >= 0) {
		if (ps->nodes[parent].last_child < 0)
			ps->nodes[parent].first_child = (int)ps->nnodes;
		else
			ps->nodes[ps->nodes[parent].last_child].next_sibling = (int)ps->nnodes;
		ps->nodes[parent].last_child = (int)ps->nnodes;
	}
	ps->nnodes++;
	return 0;
}

/* The VALUE parameter of a content line, copied into buf ("" if none). */
static void value_param(const struct line *l, char *buf, size_t size)
{
	const char *p = l->text + l->name_len, *stop = l->value - 1, *v;
	size_t n;

	buf[0] = '\0';
	for (; p < stop; p++) {
		if (*p != ';' || (size_t)(stop - p) < 7 || strncasecmp(p + 1, "VALUE=", 6) != 0)
			continue;
		v = p + 7;
		n = 0;
		while (v + n < stop && v[n] != ';' && v[n] != ':')
			n++;
		snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), v);
		return;
	}
}

/* "20131210Z,20121210Z": dates with a Z, which RFC 5545 does not allow but
 * Google Calendar writes in RDATE lines of its birthday calendars. */
static int google_utc_dates(const char *v)
{
	size_t n;

	do {
		n = strspn(v, "0123456789");
		if (n != 8 || v[8] != 'Z')
			return 0;
		v += 9;
	} while (*v++ == ',');
	return v[-1] == '\0';
}

/* Lines not given to libical, which would flag them although RFC 5545 wants
 * them ignored or allows them: unknown IANA properties (and x-names in lower
 * case, which libical does not take for x-names); values of a type libical
 * does not know (RFC 9253's VALUE=UID; 3.2.20 says to treat them as text);
 * empty TEXT values, which Google Calendar writes ("DESCRIPTION:") and
 * libical's build refuses; empty RDATE/EXDATE lists; RELATED-TO with a
 * VALUE (RFC 9253); and Google's RDATE dates with a Z. We model none of
 * these, and the stored bytes keep them for the calendar apps. */
static int ignored_property(struct line *l)
{
	char saved = l->text[l->name_len], vp[32];
	icalproperty_kind kind;
	icalvalue_kind vkind;

	l->text[l->name_len] = '\0';
	kind = icalproperty_string_to_kind(l->text);
	l->text[l->name_len] = saved;
	if (kind == ICAL_NO_PROPERTY)
		return 1;
	value_param(l, vp, sizeof(vp));
	if (vp[0] && icalvalue_string_to_kind(vp) == ICAL_NO_VALUE &&
	    kind != ICAL_DTSTART_PROPERTY && kind != ICAL_DTEND_PROPERTY &&
	    kind != ICAL_DUE_PROPERTY && kind != ICAL_RRULE_PROPERTY &&
	    kind != ICAL_DURATION_PROPERTY && kind != ICAL_UID_PROPERTY &&
	    kind != ICAL_DTSTAMP_PROPERTY)
		return 1;
	/* RFC 9253 gives RELATED-TO URI and UID values that libical 3.0 refuses */
	if (kind == ICAL_RELATEDTO_PROPERTY && vp[0])
		return 1;
	if ((kind == ICAL_RDATE_PROPERTY || kind == ICAL_EXDATE_PROPERTY) &&
	    google_utc_dates(l->value))
		return 1;
	if (l->value[strspn(l->value, " \t")] == '\0') {
		vkind =
		    vp[0] ? icalvalue_string_to_kind(vp) : icalproperty_kind_to_value_kind(kind);
		if (vkind == ICAL_TEXT_VALUE || vkind == ICAL_X_VALUE || kind == ICAL_X_PROPERTY ||
		    kind == ICAL_RDATE_PROPERTY || kind == ICAL_EXDATE_PROPERTY)
			return 1;
	}
	return 0;
}

/* Walks the logical lines: checks the structure, builds the component list
 * and feeds libical each line it should see. */
static int scan_and_feed(struct parse *ps)
{
	int stack[LKS_ICAL_MAX_DEPTH + 1];
	int depth = 0, rc, cur;
	unsigned calendar_end = 0;
	size_t i, nprops = 0;
	char q[100], msg[300];

	if (ps->nlines == 0)
		return bad(0, "empty: not an iCalendar file (it must start with BEGIN:VCALENDAR)");
	ps->parser = icalparser_new();
	if (!ps->parser)
		return lks_error_set(LKS_ENOMEM, "out of memory");

	for (i = 0; i < ps->nlines; i++) {
		struct line *l = &ps->lines[i];
		int feed;

		if (split_content_line(l) != 0) {
			if (i == 0)
				return bad(l->lineno, "not an iCalendar file: it must start with "
						      "BEGIN:VCALENDAR");
			return bad(l->lineno, "'%s' is not a content line (NAME:value)",
				   quote(q, sizeof(q), l->text));
		}
		if (i == 0 && !(name_is(l, "BEGIN") && strcasecmp(trim_value(l), "VCALENDAR") == 0))
			return bad(l->lineno, "not an iCalendar file: it must start with "
					      "BEGIN:VCALENDAR");
		if (depth == 0 && calendar_end) {
			if (name_is(l, "BEGIN") && strcasecmp(trim_value(l), "VCALENDAR") == 0)
				return bad(l->lineno,
					   "a second VCALENDAR after the END:VCALENDAR on "
					   "line %u: one calendar per file",
					   calendar_end);
			return bad(l->lineno, "content after the END:VCALENDAR on line %u",
				   calendar_end);
		}
		cur = depth ? stack[depth - 1] : -1;
		feed = cur < 0 || !ps->nodes[cur].skipped;

		if (name_is(l, "BEGIN")) {
			const char *name = trim_value(l);
			icalcomponent_kind k = known_component(name);

			if (!*name)
				return bad(l->lineno, "BEGIN without a component name");
			if (depth > 0 && strcasecmp(name, "VCALENDAR") == 0)
				return bad(l->lineno, "BEGIN:VCALENDAR inside %s (line %u)",
					   ps->nodes[cur].name, ps->nodes[cur].begin);
			if (depth >= LKS_ICAL_MAX_DEPTH)
				return lks_error_set(LKS_ETOOBIG,
						     "line %u: components nested more than %d deep",
						     l->lineno, LKS_ICAL_MAX_DEPTH);
			rc = push_node(ps, name, l->lineno, cur);
			if (rc)
				return rc;
			/* Components libical does not know are ignored, as RFC
			 * 5545 asks of unknown IANA components. */
			ps->nodes[ps->nnodes - 1].skipped = !feed || k == ICAL_NO_COMPONENT;
			ps->nodes[ps->nnodes - 1].ikind = k;
			ps->nodes[ps->nnodes - 1].first_line = i;
			feed = !ps->nodes[ps->nnodes - 1].skipped;
			stack[depth++] = (int)ps->nnodes - 1;
			l->kind = LINE_BEGIN;
			l->node = (int)ps->nnodes - 1;
		} else if (name_is(l, "END")) {
			const char *name = trim_value(l);

			if (depth == 0)
				return bad(l->lineno, "END:%s without a BEGIN",
					   quote(q, sizeof(q), name));
			if (strcasecmp(name, ps->nodes[cur].name) != 0)
				return bad(l->lineno,
					   "END:%s does not close the BEGIN:%s of line %u",
					   quote(q, sizeof(q), name), ps->nodes[cur].name,
					   ps->nodes[cur].begin);
			ps->nodes[cur].end = l->lineno;
			ps->nodes[cur].last_line = i;
			l->kind = LINE_END;
			l->node = cur;
			depth--;
			if (depth == 0)
				calendar_end = l->lineno;
		} else {
			if (++nprops > LKS_ICAL_MAX_PROPERTIES)
				return lks_error_set(LKS_ETOOBIG,
						     "line %u: more than %d properties", l->lineno,
						     LKS_ICAL_MAX_PROPERTIES);
			l->kind = LINE_PROP;
			l->node = cur;
			/* Unknown IANA properties (and x-names in lower case,
			 * which libical does not take for x-names) are ignored,
			 * as RFC 5545 asks; libical would flag them. */
			if (feed && ignored_property(l))
				feed = 0;
		}
		if (!feed)
			continue;
		{
			icalcomponent *root = icalparser_add_line(ps->parser, l->text);

			if (icalparser_get_state(ps->parser) == ICALPARSER_ERROR) {
				if (root)
					icalcomponent_free(root);
				line_error(msg, sizeof(msg), l->text);
				return bad(l->lineno, "%s", msg);
			}
			if (root)
				ps->root = root;
		}
	}
	if (depth > 0) {
		cur = stack[depth - 1];
		return bad(ps->nodes[cur].begin, "BEGIN:%s is never closed (no END:%s)",
			   ps->nodes[cur].name, ps->nodes[cur].name);
	}
	if (!ps->root)
		return lks_error_set(LKS_EINTERNAL, "libical returned no calendar");
	return 0;
}

/* Pairs libical's components with ours, child lists one by one: libical
 * keeps children in file order except VTIMEZONEs, which it moves to the
 * front, the last one first (icalcomponent_add_component). */
static int pair_children(struct parse *ps, int n)
{
	icalcomponent *c = ps->nodes[n].ic, *k;
	int *zones = NULL, nzones = 0, count = 0, ch, other, rc = 0;

	for (ch = ps->nodes[n].first_child; ch >= 0; ch = ps->nodes[ch].next_sibling)
		count++;
	if (count) {
		zones = malloc((size_t)count * sizeof(*zones));
		if (!zones)
			return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	for (ch = ps->nodes[n].first_child; ch >= 0; ch = ps->nodes[ch].next_sibling)
		if (!ps->nodes[ch].skipped && ps->nodes[ch].ikind == ICAL_VTIMEZONE_COMPONENT)
			zones[nzones++] = ch;
	other = ps->nodes[n].first_child;
	for (k = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); k && !rc;
	     k = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT)) {
		int mine = -1;

		if (icalcomponent_isa(k) == ICAL_VTIMEZONE_COMPONENT && nzones > 0) {
			mine = zones[--nzones];
		} else {
			while (other >= 0 && (ps->nodes[other].skipped ||
					      ps->nodes[other].ikind == ICAL_VTIMEZONE_COMPONENT))
				other = ps->nodes[other].next_sibling;
			mine = other;
			if (other >= 0)
				other = ps->nodes[other].next_sibling;
		}
		if (mine < 0 || ps->nodes[mine].ikind != icalcomponent_isa(k)) {
			rc = lks_error_set(LKS_EINTERNAL,
					   "line %u: libical's components differ "
					   "from the file's",
					   ps->nodes[n].begin);
			break;
		}
		ps->nodes[mine].ic = k;
		rc = pair_children(ps, mine);
	}
	free(zones);
	if (rc)
		return rc;
	for (ch = ps->nodes[n].first_child; ch >= 0; ch = ps->nodes[ch].next_sibling)
		if (!ps->nodes[ch].skipped && !ps->nodes[ch].ic)
			return lks_error_set(LKS_EINTERNAL, "line %u: libical lost a component",
					     ps->nodes[ch].begin);
	return 0;
}

/* The line of the nth (from 1) property called name directly in node n, or
 * the node's BEGIN line. */
static unsigned prop_line(const struct parse *ps, int n, const char *name, int nth)
{
	size_t i;

	for (i = ps->nodes[n].first_line; i <= ps->nodes[n].last_line; i++) {
		const struct line *l = &ps->lines[i];

		if (l->kind == LINE_PROP && l->node == n && name_is(l, name) && --nth == 0)
			return l->lineno;
	}
	return ps->nodes[n].begin;
}

/* The first property line of node n (called name when name is not NULL)
 * whose text contains needle, or 0. */
static unsigned line_containing(const struct parse *ps, int n, const char *name, const char *needle)
{
	size_t i;

	if (!needle || !*needle)
		return 0;
	for (i = ps->nodes[n].first_line; i <= ps->nodes[n].last_line; i++) {
		const struct line *l = &ps->lines[i];

		if (l->kind == LINE_PROP && l->node == n && (!name || name_is(l, name)) &&
		    strstr(l->text, needle))
			return l->lineno;
	}
	return 0;
}

/* Refuses any X-LIC-ERROR left in the tree: libical's notes about lines it
 * read without raising its parser's error state, or ones in the input. */
static int check_xlicerrors(struct parse *ps)
{
	size_t n;
	char msg[300];
	unsigned line;

	for (n = 0; n < ps->nnodes; n++) {
		icalproperty *p;
		const char *err, *text;

		if (ps->nodes[n].skipped)
			continue;
		p = icalcomponent_get_first_property(ps->nodes[n].ic, ICAL_XLICERROR_PROPERTY);
		if (!p)
			continue;
		err = icalproperty_get_xlicerror(p);
		err = err ? err : "";
		text = strstr(err, ": ");
		line = text ? line_containing(ps, (int)n, NULL, text + 2) : 0;
		if (!line)
			line = line_containing(ps, (int)n, "X-LIC-ERROR", err);
		describe_libical_error(msg, sizeof(msg), err);
		return bad(line ? line : ps->nodes[n].begin, "%s", msg);
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * Rules
 * ------------------------------------------------------------------------- */

/* Exactly one property of this kind in node n ("required"), or at most one. */
static int check_once(struct parse *ps, int n, icalproperty_kind kind, const char *name,
		      int required)
{
	int count = icalcomponent_count_properties(ps->nodes[n].ic, kind);

	if (count == 0 && required)
		return bad(ps->nodes[n].begin, "%s has no %s", ps->nodes[n].name, name);
	if (count > 1)
		return bad(prop_line(ps, n, name, 2),
			   "%s has a second %s (the first is on line %u)", ps->nodes[n].name, name,
			   prop_line(ps, n, name, 1));
	return 0;
}

static int check_calendar(struct parse *ps)
{
	icalcomponent *cal = ps->nodes[0].ic;
	icalproperty *p;
	const char *v;
	const char *semi;
	char q[100];
	int rc;

	if (icalcomponent_count_properties(cal, ICAL_VERSION_PROPERTY) == 0)
		return bad(ps->nodes[0].begin, "VCALENDAR has no VERSION (VERSION:2.0)");
	rc = check_once(ps, 0, ICAL_VERSION_PROPERTY, "VERSION", 1);
	if (!rc)
		rc = check_once(ps, 0, ICAL_PRODID_PROPERTY, "PRODID", 1);
	if (rc)
		return rc;
	p = icalcomponent_get_first_property(cal, ICAL_VERSION_PROPERTY);
	v = icalproperty_get_version(p);
	v = v ? v : "";
	semi = strchr(v, ';');
	if (strcmp(v, "2.0") != 0 && !(semi && strcmp(semi + 1, "2.0") == 0)) {
		if (strcmp(v, "1.0") == 0)
			return bad(prop_line(ps, 0, "VERSION", 1),
				   "VERSION:1.0 is a vCalendar 1.0 file, not iCalendar 2.0");
		return bad(prop_line(ps, 0, "VERSION", 1), "VERSION is '%s', not 2.0",
			   quote(q, sizeof(q), v));
	}
	if (icalcomponent_count_components(cal, ICAL_ANY_COMPONENT) == 0)
		return bad(ps->nodes[0].begin, "the calendar holds no event, to-do or other "
					       "component");
	return 0;
}

static int count_by(const short *a, int size)
{
	int n = 0;

	while (n < size && a[n] != ICAL_RECURRENCE_ARRAY_MAX)
		n++;
	return n;
}

/* A time zone rule libical can expand at a bounded cost: at most a few
 * transitions a year. libical would follow a FREQ=SECONDLY rule from its
 * DTSTART to the year asked for, under its global lock. */
static int zone_rule_ok(struct icalrecurrencetype *r)
{
	int months, days;

	if (r->freq != ICAL_YEARLY_RECURRENCE || count_by(r->by_week_no, ICAL_BY_WEEKNO_SIZE))
		return 0;
	/* Outlook writes BYHOUR=2;BYMINUTE=0: one value each changes nothing */
	if (count_by(r->by_second, ICAL_BY_SECOND_SIZE) > 1 ||
	    count_by(r->by_minute, ICAL_BY_MINUTE_SIZE) > 1 ||
	    count_by(r->by_hour, ICAL_BY_HOUR_SIZE) > 1)
		return 0;
	months = count_by(r->by_month, ICAL_BY_MONTH_SIZE);
	days = count_by(r->by_month_day, ICAL_BY_MONTHDAY_SIZE);
	if (count_by(r->by_day, ICAL_BY_DAY_SIZE) > days)
		days = count_by(r->by_day, ICAL_BY_DAY_SIZE);
	if (count_by(r->by_year_day, ICAL_BY_YEARDAY_SIZE) > days)
		days = count_by(r->by_year_day, ICAL_BY_YEARDAY_SIZE);
	return (months ? months : 1) * (days ? days : 1) <= 31;
}

static int check_timezone(struct parse *ps, int n)
{
	size_t k;
	int parts = 0, rc;

	rc = check_once(ps, n, ICAL_TZID_PROPERTY, "TZID", 1);
	if (rc)
		return rc;
	for (k = (size_t)n + 1; k < ps->nnodes && ps->nodes[k].begin < ps->nodes[n].end; k++) {
		struct node *o = &ps->nodes[k];
		icalproperty *p;
		int nth = 0;

		if (o->parent != n || o->skipped ||
		    (o->ikind != ICAL_XSTANDARD_COMPONENT && o->ikind != ICAL_XDAYLIGHT_COMPONENT))
			continue;
		parts++;
		rc = check_once(ps, (int)k, ICAL_DTSTART_PROPERTY, "DTSTART", 1);
		if (!rc)
			rc = check_once(ps, (int)k, ICAL_TZOFFSETTO_PROPERTY, "TZOFFSETTO", 1);
		if (rc)
			return rc;
		if (icalcomponent_count_properties(o->ic, ICAL_RDATE_PROPERTY) > 1000)
			return bad(o->begin, "%s has more than 1000 RDATE lines", o->name);
		for (p = icalcomponent_get_first_property(o->ic, ICAL_RRULE_PROPERTY); p;
		     p = icalcomponent_get_next_property(o->ic, ICAL_RRULE_PROPERTY)) {
			struct icalrecurrencetype r = icalproperty_get_rrule(p);

			nth++;
			if (!zone_rule_ok(&r))
				return bad(prop_line(ps, (int)k, "RRULE", nth),
					   "time zone rules must repeat at most a few times a year "
					   "(FREQ=YEARLY, without BYWEEKNO, with one BYHOUR, "
					   "BYMINUTE and BYSECOND at most)");
		}
	}
	if (parts == 0)
		return bad(ps->nodes[n].begin, "VTIMEZONE has no STANDARD or DAYLIGHT part");
	return 0;
}

/* The zone a TZID designates: a VTIMEZONE of the file, else an IANA zone
 * libical knows. Remembered per calendar; NULL when unknown. */
static int resolve_tzid(struct parse *ps, const char *tzid, icaltimezone **zone)
{
	struct zone_ref *nz = NULL;
	size_t i, ncap;

	for (i = 0; i < ps->nzones; i++) {
		if (strcmp(ps->zones[i].tzid, tzid) == 0) {
			*zone = ps->zones[i].zone;
			return 0;
		}
	}
	*zone = icalcomponent_get_timezone(ps->root, tzid);
	if (!*zone)
		*zone = builtin_zone(tzid);
	if (ps->nzones == ps->capzones) {
		ncap = ps->capzones ? ps->capzones * 2 : 8;
		nz = realloc(ps->zones, ncap * sizeof(*nz));
		if (!nz)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		ps->zones = nz;
		ps->capzones = ncap;
	}
	ps->zones[ps->nzones].tzid = strdup(tzid);
	if (!ps->zones[ps->nzones].tzid)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	ps->zones[ps->nzones++].zone = *zone;
	return 0;
}

/* Every TZID parameter outside VTIMEZONEs names a zone we can use. */
static int check_tzids(struct parse *ps)
{
	size_t n;
	char q[100], needle[200];
	int rc;

	for (n = 0; n < ps->nnodes; n++) {
		icalcomponent *c = ps->nodes[n].ic;
		icalproperty *p;
		int in_zone = 0, a;

		if (ps->nodes[n].skipped)
			continue;
		for (a = (int)n; a >= 0; a = ps->nodes[a].parent)
			if (ps->nodes[a].ikind == ICAL_VTIMEZONE_COMPONENT)
				in_zone = 1;
		if (in_zone)
			continue;
		for (p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
		     p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
			icalparameter *par =
			    icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
			const char *tzid = par ? icalparameter_get_tzid(par) : NULL;
			icaltimezone *zone = NULL;
			unsigned line;

			if (!tzid)
				continue;
			rc = resolve_tzid(ps, tzid, &zone);
			if (rc)
				return rc;
			if (zone)
				continue;
			snprintf(needle, sizeof(needle), "%s", tzid);
			line =
			    line_containing(ps, (int)n, icalproperty_get_property_name(p), needle);
			return bad(line ? line : ps->nodes[n].begin,
				   "TZID '%s' has no VTIMEZONE in the file and is not a known "
				   "time zone name",
				   quote(q, sizeof(q), tzid));
		}
	}
	return 0;
}

/* ---------------------------------------------------------------------------
 * The model
 * ------------------------------------------------------------------------- */

/* Copies s into the calendar as valid UTF-8; *out stays NULL for NULL. */
static int keep(lks_calendar *cal, const char **out, const char *s)
{
	struct sbuf b = {0};
	char **ns = NULL;
	size_t ncap;

	*out = NULL;
	if (!s)
		return 0;
	sb_put_utf8(&b, s, SIZE_MAX / 2);
	if (!b.p && !b.oom)
		sb_putn(&b, "", 0);
	if (b.oom)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	if (cal->nstrings == cal->capstrings) {
		ncap = cal->capstrings ? cal->capstrings * 2 : 64;
		ns = realloc(cal->strings, ncap * sizeof(*ns));
		if (!ns) {
			free(b.p);
			return lks_error_set(LKS_ENOMEM, "out of memory");
		}
		cal->strings = ns;
		cal->capstrings = ncap;
	}
	cal->strings[cal->nstrings++] = b.p;
	*out = b.p;
	return 0;
}

/* RFC 5545 TEXT unescaping for values libical hands back escaped. */
static char *unescape_text(const char *s)
{
	struct sbuf b = {0};
	char *out = NULL;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			sb_putn(&b, (*s == 'n' || *s == 'N') ? "\n" : s, 1);
		} else {
			sb_putn(&b, s, 1);
		}
	}
	if (sb_finish(&b, &out))
		return NULL;
	return out;
}

static int time_valid(struct icaltimetype t)
{
	if (t.year < 1 || t.year > 9999 || t.month < 1 || t.month > 12 || t.day < 1 ||
	    t.day > days_in_month(t.year, t.month))
		return 0;
	if (t.is_date)
		return 1;
	return t.hour >= 0 && t.hour <= 23 && t.minute >= 0 && t.minute <= 59 && t.second >= 0 &&
	       t.second <= 60;
}

/* Seconds since the epoch of a wall time in zone (NULL: floating, read as
 * UTC). Years past 2100 take their UTC offset from the same day of 2100, so
 * that libical never expands a zone's transitions again and again. */
static long long utc_of(struct icaltimetype t, icaltimezone *zone)
{
	long long wall = days_from_civil(t.year, t.month, t.day) * 86400LL + t.hour * 3600LL +
			 t.minute * 60LL + t.second;
	struct icaltimetype probe = t;

	if (t.is_date || !zone || icaltime_is_utc(t))
		return wall;
	if (probe.year > 2100) {
		probe.year = 2100;
		if (probe.month == 2 && probe.day == 29)
			probe.day = 28;
	}
	return wall - icaltimezone_get_utc_offset(zone, &probe, NULL);
}

/* Reads a DTSTART/DTEND/DUE property (n: its component) into *out. */
static int read_time(struct parse *ps, int n, icalproperty *p, const char *name, lks_ical_time *out,
		     struct icaltimetype *tt, icaltimezone **zone)
{
	icalvalue *v = icalproperty_get_value(p);
	icalparameter *par = icalproperty_get_first_parameter(p, ICAL_TZID_PARAMETER);
	const char *tzid = par ? icalparameter_get_tzid(par) : NULL;
	icalvalue_kind vk = v ? icalvalue_isa(v) : ICAL_NO_VALUE;
	int rc;

	memset(out, 0, sizeof(*out));
	*zone = NULL;
	if (vk != ICAL_DATETIME_VALUE && vk != ICAL_DATE_VALUE)
		return bad(prop_line(ps, n, name, 1), "%s is not a date or a date-time", name);
	*tt = vk == ICAL_DATE_VALUE ? icalvalue_get_date(v) : icalvalue_get_datetime(v);
	if (!time_valid(*tt))
		return bad(prop_line(ps, n, name, 1), "%s is not a valid date or time", name);
	out->present = 1;
	out->date_only = tt->is_date;
	out->year = tt->year;
	out->month = tt->month;
	out->day = tt->day;
	if (!tt->is_date) {
		out->hour = tt->hour;
		out->minute = tt->minute;
		out->second = tt->second;
	}
	if (icaltime_is_utc(*tt)) {
		out->zone = LKS_ICAL_UTC;
		out->tzid = "UTC";
	} else if (tzid && !tt->is_date) {
		rc = resolve_tzid(ps, tzid, zone);
		if (rc)
			return rc;
		out->zone = LKS_ICAL_TZID;
		rc = keep(ps->cal, &out->tzid, tzid);
		if (rc)
			return rc;
	}
	out->utc = utc_of(*tt, *zone);
	return 0;
}

static void format_time(char *buf, size_t size, const lks_ical_time *t)
{
	if (t->date_only)
		snprintf(buf, size, "%04d-%02d-%02d", t->year, t->month, t->day);
	else
		snprintf(buf, size, "%04d-%02d-%02d %02d:%02d", t->year, t->month, t->day, t->hour,
			 t->minute);
}

/* The end of a component from its DURATION: the start plus the duration
 * (libical adds days and weeks as wall-clock days). */
static int end_from_duration(struct parse *ps, int n, const lks_ical_time *start,
			     struct icaltimetype stt, icaltimezone *zone, lks_ical_time *end)
{
	icalproperty *p = icalcomponent_get_first_property(ps->nodes[n].ic, ICAL_DURATION_PROPERTY);
	struct icaldurationtype d = icalproperty_get_duration(p);
	struct icaltimetype e;

	if (d.is_neg)
		return bad(prop_line(ps, n, "DURATION", 1), "DURATION is negative");
	if (d.weeks > 5000 || d.days > 40000 || d.hours > 1000000 || d.minutes > 60000000 ||
	    d.seconds > 1000000000)
		return bad(prop_line(ps, n, "DURATION", 1), "DURATION is too long");
	e = icaltime_add(stt, d);
	if (!time_valid(e))
		return bad(prop_line(ps, n, "DURATION", 1), "DURATION ends past the year 9999");
	*end = *start;
	end->year = e.year;
	end->month = e.month;
	end->day = e.day;
	if (!e.is_date) {
		end->hour = e.hour;
		end->minute = e.minute;
		end->second = e.second;
	}
	end->utc = utc_of(e, zone);
	return 0;
}

static int keep_prop(struct parse *ps, icalcomponent *c, icalproperty_kind kind, const char **out)
{
	icalproperty *p = icalcomponent_get_first_property(c, kind);
	const char *s = NULL;

	*out = NULL;
	if (!p)
		return 0;
	switch (kind) {
	case ICAL_UID_PROPERTY:
		s = icalproperty_get_uid(p);
		break;
	case ICAL_SUMMARY_PROPERTY:
		s = icalproperty_get_summary(p);
		break;
	case ICAL_LOCATION_PROPERTY:
		s = icalproperty_get_location(p);
		break;
	case ICAL_DESCRIPTION_PROPERTY:
		s = icalproperty_get_description(p);
		break;
	case ICAL_URL_PROPERTY:
		s = icalproperty_get_url(p);
		break;
	default:
		s = icalproperty_get_value_as_string(p);
		break;
	}
	return keep(ps->cal, out, s);
}

static int add_item(lks_calendar *cal, lks_ical_component **item)
{
	lks_ical_component *ni = NULL;
	size_t ncap;

	if (cal->count == cal->cap) {
		ncap = cal->cap ? cal->cap * 2 : 8;
		ni = realloc(cal->items, ncap * sizeof(*ni));
		if (!ni)
			return lks_error_set(LKS_ENOMEM, "out of memory");
		cal->items = ni;
		cal->cap = ncap;
	}
	*item = &cal->items[cal->count++];
	memset(*item, 0, sizeof(**item));
	return 0;
}

static int read_organizer(struct parse *ps, icalcomponent *c, lks_ical_component *it)
{
	icalproperty *p = icalcomponent_get_first_property(c, ICAL_ORGANIZER_PROPERTY);
	icalparameter *cn;
	const char *addr;
	int rc;

	if (!p)
		return 0;
	addr = icalproperty_get_organizer(p);
	if (addr && has_prefix_ci(addr, "mailto:"))
		addr += 7;
	rc = keep(ps->cal, &it->organizer_email, addr);
	if (rc)
		return rc;
	cn = icalproperty_get_first_parameter(p, ICAL_CN_PARAMETER);
	if (cn && icalparameter_get_cn(cn) && *icalparameter_get_cn(cn))
		return keep(ps->cal, &it->organizer, icalparameter_get_cn(cn));
	it->organizer = it->organizer_email;
	return 0;
}

/* Checks one event, to-do or journal and adds it to the model. */
static int check_item(struct parse *ps, int n)
{
	struct node *nd = &ps->nodes[n];
	icalcomponent *c = nd->ic;
	lks_ical_component *it = NULL;
	struct icaltimetype stt = icaltime_null_time(), ett;
	icaltimezone *szone = NULL, *ezone = NULL;
	const char *end_name = nd->ikind == ICAL_VTODO_COMPONENT ? "DUE" : "DTEND";
	icalproperty_kind end_kind =
	    nd->ikind == ICAL_VTODO_COMPONENT ? ICAL_DUE_PROPERTY : ICAL_DTEND_PROPERTY;
	int has_end, has_dur, rc;
	char a[40], b[40];

	rc = check_once(ps, n, ICAL_UID_PROPERTY, "UID", 1);
	if (!rc)
		rc = check_once(ps, n, ICAL_DTSTAMP_PROPERTY, "DTSTAMP", 1);
	if (!rc)
		rc = check_once(ps, n, ICAL_DTSTART_PROPERTY, "DTSTART",
				nd->ikind == ICAL_VEVENT_COMPONENT);
	if (!rc && nd->ikind != ICAL_VJOURNAL_COMPONENT)
		rc = check_once(ps, n, end_kind, end_name, 0);
	if (!rc && nd->ikind != ICAL_VJOURNAL_COMPONENT)
		rc = check_once(ps, n, ICAL_DURATION_PROPERTY, "DURATION", 0);
	if (rc)
		return rc;
	has_end =
	    icalcomponent_count_properties(c, end_kind) > 0 && nd->ikind != ICAL_VJOURNAL_COMPONENT;
	has_dur = icalcomponent_count_properties(c, ICAL_DURATION_PROPERTY) > 0 &&
		  nd->ikind != ICAL_VJOURNAL_COMPONENT;
	if (has_end && has_dur)
		return bad(prop_line(ps, n, "DURATION", 1),
			   "%s has both %s (line %u) and DURATION; "
			   "keep one",
			   nd->name, end_name, prop_line(ps, n, end_name, 1));

	rc = add_item(ps->cal, &it);
	if (rc)
		return rc;
	it->kind = nd->ikind == ICAL_VEVENT_COMPONENT  ? LKS_ICAL_EVENT
		   : nd->ikind == ICAL_VTODO_COMPONENT ? LKS_ICAL_TODO
						       : LKS_ICAL_JOURNAL;
	it->line = nd->begin;
	if (icalcomponent_count_properties(c, ICAL_DTSTART_PROPERTY)) {
		rc = read_time(ps, n, icalcomponent_get_first_property(c, ICAL_DTSTART_PROPERTY),
			       "DTSTART", &it->start, &stt, &szone);
		if (rc)
			return rc;
	} else if (has_dur) {
		return bad(prop_line(ps, n, "DURATION", 1), "%s has a DURATION but no DTSTART",
			   nd->name);
	}
	if (has_end) {
		rc = read_time(ps, n, icalcomponent_get_first_property(c, end_kind), end_name,
			       &it->end, &ett, &ezone);
		if (rc)
			return rc;
		if (it->start.present && it->start.date_only != it->end.date_only)
			return bad(prop_line(ps, n, end_name, 1),
				   "%s is a %s but DTSTART (line %u) is a %s; they must be alike",
				   end_name, it->end.date_only ? "date" : "date-time",
				   prop_line(ps, n, "DTSTART", 1),
				   it->start.date_only ? "date" : "date-time");
		if (it->start.present && it->end.utc < it->start.utc) {
			format_time(a, sizeof(a), &it->end);
			format_time(b, sizeof(b), &it->start);
			return bad(prop_line(ps, n, end_name, 1),
				   "%s (%s) is before DTSTART (%s, line %u)", end_name, a, b,
				   prop_line(ps, n, "DTSTART", 1));
		}
	} else if (has_dur) {
		rc = end_from_duration(ps, n, &it->start, stt, szone, &it->end);
		if (rc)
			return rc;
	}
	rc = keep_prop(ps, c, ICAL_UID_PROPERTY, &it->uid);
	if (!rc && !it->uid)
		rc = keep(ps->cal, &it->uid, "");
	if (!rc)
		rc = keep_prop(ps, c, ICAL_SUMMARY_PROPERTY, &it->summary);
	if (!rc)
		rc = keep_prop(ps, c, ICAL_LOCATION_PROPERTY, &it->location);
	if (!rc)
		rc = keep_prop(ps, c, ICAL_DESCRIPTION_PROPERTY, &it->description);
	if (!rc)
		rc = keep_prop(ps, c, ICAL_STATUS_PROPERTY, &it->status);
	if (!rc)
		rc = keep_prop(ps, c, ICAL_URL_PROPERTY, &it->url);
	if (!rc)
		rc = keep_prop(ps, c, ICAL_RRULE_PROPERTY, &it->rrule);
	if (!rc)
		rc = read_organizer(ps, c, it);
	if (!rc && it->rrule) {
		char *words = NULL;

		if (lks_ical_rrule_words(&words, it->rrule) == 0) {
			rc = keep(ps->cal, &it->rrule_words, words);
			free(words);
		}
	}
	return rc;
}

/* The calendar's display name: RFC 7986 NAME or Apple's X-WR-CALNAME. */
static int read_calendar_name(struct parse *ps)
{
	icalcomponent *c = ps->nodes[0].ic;
	icalproperty *p;
	const char *found = NULL;
	char *text = NULL;
	int rc;

	for (p = icalcomponent_get_first_property(c, ICAL_ANY_PROPERTY); p;
	     p = icalcomponent_get_next_property(c, ICAL_ANY_PROPERTY)) {
		const char *name = icalproperty_get_property_name(p);

		if (name &&
		    (strcasecmp(name, "NAME") == 0 || strcasecmp(name, "X-WR-CALNAME") == 0)) {
			found = icalproperty_get_value_as_string(p);
			break;
		}
	}
	if (!found)
		return 0;
	text = unescape_text(found);
	if (!text)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	rc = keep(ps->cal, &ps->cal->name, text);
	free(text);
	return rc;
}

static int check_all(struct parse *ps)
{
	size_t n;
	int rc;

	rc = check_calendar(ps);
	for (n = 1; !rc && n < ps->nnodes; n++)
		if (!ps->nodes[n].skipped && ps->nodes[n].parent == 0 &&
		    ps->nodes[n].ikind == ICAL_VTIMEZONE_COMPONENT)
			rc = check_timezone(ps, (int)n);
	if (!rc)
		rc = check_tzids(ps);
	for (n = 1; !rc && n < ps->nnodes; n++) {
		icalcomponent_kind k = ps->nodes[n].ikind;

		if (!ps->nodes[n].skipped && ps->nodes[n].parent == 0 &&
		    (k == ICAL_VEVENT_COMPONENT || k == ICAL_VTODO_COMPONENT ||
		     k == ICAL_VJOURNAL_COMPONENT))
			rc = check_item(ps, (int)n);
	}
	if (!rc)
		rc = read_calendar_name(ps);
	return rc;
}

void lks_ical_free(lks_calendar *cal)
{
	size_t i;

	if (!cal)
		return;
	for (i = 0; i < cal->nstrings; i++)
		free(cal->strings[i]);
	free(cal->strings);
	free(cal->items);
	free(cal);
}

int lks_ical_parse(lks_calendar **out, const char *data, size_t len)
{
	struct parse ps;
	size_t i;
	int rc;

	if (!out || (!data && len))
		return lks_error_set(LKS_EINVAL, "lks_ical_parse: NULL argument");
	*out = NULL;
	pthread_once(&ical_once, ical_init);
	memset(&ps, 0, sizeof(ps));
	ps.data = data;
	ps.len = len;
	ps.cal = calloc(1, sizeof(*ps.cal));
	if (!ps.cal) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	rc = split_lines(&ps);
	if (rc)
		goto out;
	rc = scan_and_feed(&ps);
	if (rc)
		goto out;
	ps.nodes[0].ic = ps.root;
	rc = pair_children(&ps, 0);
	if (rc)
		goto out;
	rc = check_xlicerrors(&ps);
	if (rc)
		goto out;
	rc = check_all(&ps);
	if (rc)
		goto out;
	*out = ps.cal;
	ps.cal = NULL;
out:
	lks_ical_free(ps.cal);
	if (ps.root)
		icalcomponent_free(ps.root);
	if (ps.parser)
		icalparser_free(ps.parser); /* and the components still open after an error */
	for (i = 0; i < ps.nzones; i++)
		free(ps.zones[i].tzid);
	free(ps.zones);
	free(ps.nodes);
	free(ps.lines);
	free(ps.arena);
	return rc;
}

size_t lks_ical_count(const lks_calendar *cal)
{
	return cal ? cal->count : 0;
}

const lks_ical_component *lks_ical_get(const lks_calendar *cal, size_t i)
{
	if (!cal || i >= cal->count)
		return NULL;
	return &cal->items[i];
}

const char *lks_ical_name(const lks_calendar *cal)
{
	return cal ? cal->name : NULL;
}

int lks_ical_summary(char **out, const lks_calendar *cal)
{
	struct sbuf b = {0};
	const lks_ical_component *first = NULL;
	static const lks_ical_kind order[] = {LKS_ICAL_EVENT, LKS_ICAL_TODO, LKS_ICAL_JOURNAL};
	size_t i, k;
	char when[40];

	if (!out || !cal)
		return lks_error_set(LKS_EINVAL, "lks_ical_summary: NULL argument");
	*out = NULL;
	for (k = 0; k < 3 && !first; k++)
		for (i = 0; i < cal->count && !first; i++)
			if (cal->items[i].kind == order[k])
				first = &cal->items[i];
	if (!first) {
		sb_puts(&b, cal->name ? cal->name : "Calendar");
		sb_puts(&b, " (no events)");
		return sb_finish(&b, out);
	}
	sb_puts(&b, first->summary && *first->summary ? first->summary : "(untitled)");
	if (first->kind == LKS_ICAL_TODO && first->end.present) {
		format_time(when, sizeof(when), &first->end);
		sb_printf(&b, ", due %s", when);
		if (first->end.tzid)
			sb_printf(&b, " (%s)", first->end.tzid);
	} else if (first->start.present) {
		format_time(when, sizeof(when), &first->start);
		sb_printf(&b, ", %s", when);
		if (first->start.tzid)
			sb_printf(&b, " (%s)", first->start.tzid);
	}
	if (cal->count > 1)
		sb_printf(&b, " + %zu more", cal->count - 1);
	return sb_finish(&b, out);
}

/* ---------------------------------------------------------------------------
 * Recurrence rules in words
 * ------------------------------------------------------------------------- */

enum { MAX_LIST = 64 };

struct rule {
	int freq; /* index into freq_names, -1 none */
	long interval;
	long count;
	int has_count;
	int until_y, until_m, until_d, has_until;
	int byday_pos[MAX_LIST], byday_wd[MAX_LIST], nbyday;
	int bymonthday[MAX_LIST], nbymonthday;
	int bymonth[MAX_LIST], nbymonth;
	int bysetpos[MAX_LIST], nbysetpos;
	struct sbuf extra; /* parts said as written */
};

static const char *const freq_names[] = {"SECONDLY", "MINUTELY", "HOURLY", "DAILY",
					 "WEEKLY",   "MONTHLY",	 "YEARLY"};
static const char *const freq_units[] = {"second", "minute", "hour", "day",
					 "week",   "month",  "year"};
static const char *const wd_codes[] = {"MO", "TU", "WE", "TH", "FR", "SA", "SU"};
static const char *const wd_names[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
				       "Friday", "Saturday", "Sunday"};
enum { F_SECONDLY, F_MINUTELY, F_HOURLY, F_DAILY, F_WEEKLY, F_MONTHLY, F_YEARLY };

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	if (!*s || (!isdigit((unsigned char)*s) && *s != '-' && *s != '+'))
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* A comma list of integers in [lo, hi] without 0. */
static int parse_int_list(const char *s, long lo, long hi, int *out, int *n)
{
	char item[32];
	const char *comma;
	size_t len;
	long v;

	*n = 0;
	while (*s) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (len == 0 || len >= sizeof(item) || *n >= MAX_LIST)
			return -1;
		memcpy(item, s, len);
		item[len] = '\0';
		if (parse_long(item, lo, hi, &v) || v == 0)
			return -1;
		out[(*n)++] = (int)v;
		s += len + (comma ? 1 : 0);
		if (comma && !*s)
			return -1;
	}
	return *n ? 0 : -1;
}

static int parse_byday(const char *s, struct rule *r)
{
	char item[32];
	const char *comma;
	size_t len, dl;
	long pos;
	int wd;

	r->nbyday = 0;
	while (*s) {
		comma = strchr(s, ',');
		len = comma ? (size_t)(comma - s) : strlen(s);
		if (len < 2 || len >= sizeof(item) || r->nbyday >= MAX_LIST)
			return -1;
		memcpy(item, s, len);
		item[len] = '\0';
		dl = len - 2;
		for (wd = 0; wd < 7; wd++)
			if (strcasecmp(item + dl, wd_codes[wd]) == 0)
				break;
		if (wd == 7)
			return -1;
		pos = 0;
		item[dl] = '\0';
		if (dl && (parse_long(item, -53, 53, &pos) || pos == 0))
			return -1;
		r->byday_pos[r->nbyday] = (int)pos;
		r->byday_wd[r->nbyday++] = wd;
		s += len + (comma ? 1 : 0);
		if (comma && !*s)
			return -1;
	}
	return r->nbyday ? 0 : -1;
}

static int parse_until(const char *s, struct rule *r)
{
	int y, m, d, n = 0;

	if (sscanf(s, "%4d%2d%2d%n", &y, &m, &d, &n) != 3 || n != 8)
		return -1;
	if (s[8] && (s[8] != 'T' || strspn(s + 9, "0123456789") != 6 ||
		     (s[15] && strcmp(s + 15, "Z") != 0)))
		return -1;
	if (y < 1 || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return -1;
	r->until_y = y;
	r->until_m = m;
	r->until_d = d;
	r->has_until = 1;
	return 0;
}

static void add_extra(struct rule *r, const char *part)
{
	if (r->extra.len)
		sb_puts(&r->extra, ";");
	sb_puts(&r->extra, part);
}

static int parse_rule(const char *text, struct rule *r)
{
	char *copy = strdup(text), *part, *next, *eq;
	long v;
	int ok, rc = 0;

	memset(r, 0, sizeof(*r));
	r->freq = -1;
	r->interval = 1;
	if (!copy)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	for (part = copy; part && *part; part = next) {
		next = strchr(part, ';');
		if (next)
			*next++ = '\0';
		if (!*part)
			continue;
		eq = strchr(part, '=');
		if (!eq) {
			rc = lks_error_set(LKS_EINVAL, "'%s' is not NAME=VALUE", part);
			break;
		}
		*eq = '\0';
		ok = 1;
		if (strcasecmp(part, "FREQ") == 0) {
			int f;

			for (f = 0; f < 7; f++)
				if (strcasecmp(eq + 1, freq_names[f]) == 0)
					r->freq = f;
			if (r->freq < 0) {
				rc = lks_error_set(LKS_EINVAL, "unknown FREQ '%s'", eq + 1);
				break;
			}
		} else if (strcasecmp(part, "INTERVAL") == 0) {
			ok = parse_long(eq + 1, 1, 1000000, &r->interval) == 0;
		} else if (strcasecmp(part, "COUNT") == 0) {
			ok = parse_long(eq + 1, 1, LONG_MAX, &v) == 0;
			if (ok) {
				r->count = v;
				r->has_count = 1;
			}
		} else if (strcasecmp(part, "UNTIL") == 0) {
			ok = parse_until(eq + 1, r) == 0;
		} else if (strcasecmp(part, "BYDAY") == 0) {
			ok = parse_byday(eq + 1, r) == 0;
		} else if (strcasecmp(part, "BYMONTHDAY") == 0) {
			ok = parse_int_list(eq + 1, -31, 31, r->bymonthday, &r->nbymonthday) == 0;
		} else if (strcasecmp(part, "BYMONTH") == 0) {
			ok = parse_int_list(eq + 1, 1, 12, r->bymonth, &r->nbymonth) == 0;
		} else if (strcasecmp(part, "BYSETPOS") == 0) {
			ok = parse_int_list(eq + 1, -366, 366, r->bysetpos, &r->nbysetpos) == 0;
		} else if (strcasecmp(part, "WKST") == 0) {
			continue; /* changes no occurrence said in words here */
		} else {
			ok = 0;
		}
		if (!ok) {
			*eq = '=';
			add_extra(r, part);
		}
	}
	free(copy);
	if (!rc && r->freq < 0)
		rc = lks_error_set(LKS_EINVAL, "a recurrence rule needs FREQ");
	if (!rc && r->extra.oom)
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
	if (rc) {
		free(r->extra.p);
		r->extra.p = NULL;
	}
	return rc;
}

static void put_ordinal_number(struct sbuf *b, int n)
{
	int m100 = n % 100, m10 = n % 10;
	const char *suffix = "th";

	if (m100 < 11 || m100 > 13)
		suffix = m10 == 1 ? "st" : m10 == 2 ? "nd" : m10 == 3 ? "rd" : "th";
	sb_printf(b, "%d%s", n, suffix);
}

/* "first", "last", "second-to-last", "53rd", "10th-to-last". */
static void put_position(struct sbuf *b, int pos)
{
	static const char *const words[] = {"first", "second", "third", "fourth", "fifth"};

	if (pos > 0 && pos <= 5) {
		sb_puts(b, words[pos - 1]);
	} else if (pos > 0) {
		put_ordinal_number(b, pos);
	} else if (pos == -1) {
		sb_puts(b, "last");
	} else if (-pos <= 5) {
		sb_puts(b, words[-pos - 1]);
		sb_puts(b, "-to-last");
	} else {
		put_ordinal_number(b, -pos);
		sb_puts(b, "-to-last");
	}
}

/* Joins n items as "a", "a and b", "a, b and c". */
static void put_join(struct sbuf *b, int i, int n, const char *last_word)
{
	if (i == 0)
		return;
	if (i == n - 1) {
		sb_puts(b, " ");
		sb_puts(b, last_word);
		sb_puts(b, " ");
	} else {
		sb_puts(b, ", ");
	}
}

static int days_mask(const struct rule *r)
{
	int mask = 0, i;

	for (i = 0; i < r->nbyday; i++) {
		if (r->byday_pos[i])
			return -1;
		mask |= 1 << r->byday_wd[i];
	}
	return mask;
}

/* "Monday and Wednesday", "weekday", "weekend day". */
static void put_plain_days(struct sbuf *b, const struct rule *r, const char *word)
{
	int mask = days_mask(r), i, n = 0, k = 0;

	if (mask == 0x1f) {
		sb_puts(b, "weekday");
		return;
	}
	if (mask == 0x60 && strcmp(word, "or") == 0) {
		sb_puts(b, "weekend day");
		return;
	}
	for (i = 0; i < 7; i++)
		n += (mask >> i) & 1;
	for (i = 0; i < 7; i++) {
		if (!((mask >> i) & 1))
			continue;
		put_join(b, k++, n, word);
		sb_puts(b, wd_names[i]);
	}
}

static void put_month_days(struct sbuf *b, const struct rule *r)
{
	int i;

	for (i = 0; i < r->nbymonthday; i++) {
		int d = r->bymonthday[i];

		put_join(b, i, r->nbymonthday, "and");
		sb_puts(b, "the ");
		if (d > 0) {
			put_ordinal_number(b, d);
		} else {
			put_position(b, d);
			sb_puts(b, " day");
		}
	}
}

static void put_months(struct sbuf *b, const struct rule *r)
{
	int i;

	for (i = 0; i < r->nbymonth; i++) {
		put_join(b, i, r->nbymonth, "and");
		sb_puts(b, month_names[r->bymonth[i] - 1]);
	}
}

int lks_ical_rrule_words(char **out, const char *rrule)
{
	struct rule r;
	struct sbuf b = {0};
	int rc, i, mask, months_said = 0, days_said = 0, setpos_said = 0;

	if (!out || !rrule)
		return lks_error_set(LKS_EINVAL, "lks_ical_rrule_words: NULL argument");
	*out = NULL;
	rc = parse_rule(rrule, &r);
	if (rc)
		return rc;
	mask = days_mask(&r);

	if (r.nbyday && mask == 0x1f && r.interval == 1 && !r.nbymonthday && !r.nbymonth &&
	    !r.nbysetpos && (r.freq == F_DAILY || r.freq == F_WEEKLY)) {
		sb_puts(&b, "every weekday");
		days_said = 1;
	} else if (r.interval == 1) {
		static const char *const one[] = {"every second", "every minute", "hourly",
						  "daily",	  "every week",	  "every month",
						  "every year"};
		sb_puts(&b, one[r.freq]);
	} else {
		sb_printf(&b, "every %ld %ss", r.interval, freq_units[r.freq]);
	}

	/* YEARLY on one day of one month: "every year on 1 March". */
	if (r.freq == F_YEARLY && r.nbymonth == 1 && r.nbymonthday == 1 && r.bymonthday[0] > 0 &&
	    !r.nbyday && !r.nbysetpos) {
		sb_printf(&b, " on %d %s", r.bymonthday[0], month_names[r.bymonth[0] - 1]);
		months_said = days_said = 1;
	}
	if (!days_said && r.nbyday && mask > 0 && !r.nbymonthday &&
	    (r.nbysetpos == 0 ||
	     (r.nbysetpos == 1 && (r.freq == F_MONTHLY || r.freq == F_YEARLY)))) {
		if (r.nbysetpos == 1) {
			sb_puts(&b, " on the ");
			put_position(&b, r.bysetpos[0]);
			sb_puts(&b, " ");
			put_plain_days(&b, &r, "or");
			setpos_said = 1;
		} else {
			sb_puts(&b, " on ");
			put_plain_days(&b, &r, "and");
		}
		days_said = 1;
	} else if (!days_said && r.nbyday && mask < 0 && !r.nbymonthday && !r.nbysetpos &&
		   (r.freq == F_MONTHLY || r.freq == F_YEARLY)) {
		/* "on the last Friday", "on the first Monday and the third Monday" */
		sb_puts(&b, " on ");
		for (i = 0; i < r.nbyday; i++) {
			put_join(&b, i, r.nbyday, "and");
			if (r.byday_pos[i]) {
				sb_puts(&b, "the ");
				put_position(&b, r.byday_pos[i]);
				sb_puts(&b, " ");
				sb_puts(&b, wd_names[r.byday_wd[i]]);
			} else {
				sb_printf(&b, "every %s", wd_names[r.byday_wd[i]]);
			}
		}
		if (r.freq == F_YEARLY) {
			if (r.nbymonth) {
				sb_puts(&b, " of ");
				put_months(&b, &r);
				months_said = 1;
			} else {
				sb_puts(&b, " of the year");
			}
		}
		days_said = 1;
	} else if (!days_said && r.nbymonthday && !r.nbyday && !r.nbysetpos &&
		   (r.freq == F_MONTHLY || r.freq == F_YEARLY)) {
		sb_puts(&b, " on ");
		put_month_days(&b, &r);
		days_said = 1;
	}
	if (r.nbymonth && !months_said && r.freq >= F_DAILY) {
		sb_puts(&b, " in ");
		put_months(&b, &r);
		months_said = 1;
	}
	if (r.has_count) {
		if (r.count == 1)
			sb_puts(&b, ", once");
		else
			sb_printf(&b, ", %ld times", r.count);
	}
	if (r.has_until)
		sb_printf(&b, " until %d %s %d", r.until_d, month_names[r.until_m - 1], r.until_y);

	/* Whatever was not said is quoted, so the words never promise more
	 * occurrences than the rule has. */
	if (r.nbyday && !days_said) {
		add_extra(&r, "BYDAY=");
		for (i = 0; i < r.nbyday; i++) {
			if (i)
				sb_puts(&r.extra, ",");
			if (r.byday_pos[i])
				sb_printf(&r.extra, "%d", r.byday_pos[i]);
			sb_puts(&r.extra, wd_codes[r.byday_wd[i]]);
		}
	}
	if (r.nbymonthday && !days_said) {
		add_extra(&r, "BYMONTHDAY=");
		for (i = 0; i < r.nbymonthday; i++)
			sb_printf(&r.extra, i ? ",%d" : "%d", r.bymonthday[i]);
	}
	if (r.nbymonth && !months_said) {
		add_extra(&r, "BYMONTH=");
		for (i = 0; i < r.nbymonth; i++)
			sb_printf(&r.extra, i ? ",%d" : "%d", r.bymonth[i]);
	}
	if (r.nbysetpos && !setpos_said) {
		add_extra(&r, "BYSETPOS=");
		for (i = 0; i < r.nbysetpos; i++)
			sb_printf(&r.extra, i ? ",%d" : "%d", r.bysetpos[i]);
	}
	if (r.extra.len) {
		sb_puts(&b, " (");
		sb_put_utf8(&b, r.extra.p, 200);
		sb_puts(&b, ")");
	}
	if (r.extra.oom)
		b.oom = 1;
	free(r.extra.p);
	return sb_finish(&b, out);
}

/* ---------------------------------------------------------------------------
 * Subscription feed
 * ------------------------------------------------------------------------- */

/* Physical line [*start, *next) of data; *stop excludes its CR LF. */
static int next_physical(const char *data, size_t len, size_t pos, size_t *stop, size_t *next)
{
	const char *nl;

	if (pos >= len)
		return 0;
	nl = memchr(data + pos, '\n', len - pos);
	*next = nl ? (size_t)(nl - data) + 1 : len;
	*stop = nl ? (size_t)(nl - data) : len;
	if (*stop > pos && data[*stop - 1] == '\r')
		(*stop)--;
	return 1;
}

static int line_has_name(const char *s, size_t n, const char *name)
{
	size_t k = strlen(name);

	return n > k && strncasecmp(s, name, k) == 0 && (s[k] == ':' || s[k] == ';');
}

int lks_ical_feed(char **out, size_t *out_len, const char *data, size_t len, long ttl_seconds)
{
	struct sbuf b = {0};
	size_t pos = 0, stop = 0, next = 0, insert_at = 0;
	int depth = 0, have_refresh = 0, have_ttl = 0, found_begin = 0, rc;
	const char *eol = "\r\n";
	long h, m, s;
	char dur[48];

	if (!out || !out_len || (!data && len))
		return lks_error_set(LKS_EINVAL, "lks_ical_feed: NULL argument");
	*out = NULL;
	*out_len = 0;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		pos = 3;
	while (next_physical(data, len, pos, &stop, &next)) {
		const char *l = data + pos;
		size_t n = stop - pos;

		if (n == 0 || *l == ' ' || *l == '\t') {
			if (found_begin && insert_at == pos && n > 0)
				insert_at = next; /* the BEGIN line goes on: keep it whole */
			pos = next;
			continue;
		}
		if (!found_begin) {
			if (!(n == 15 && strncasecmp(l, "BEGIN:VCALENDAR", 15) == 0))
				return lks_error_set(LKS_EBADCONTENT,
						     "line 1: not an iCalendar file: it must start "
						     "with BEGIN:VCALENDAR");
			found_begin = 1;
			insert_at = next;
			if (stop == next || data[stop] != '\r')
				eol = "\n";
			depth = 1;
		} else if (line_has_name(l, n, "BEGIN")) {
			depth++;
		} else if (line_has_name(l, n, "END")) {
			if (--depth <= 0)
				break;
		} else if (depth == 1 && line_has_name(l, n, "REFRESH-INTERVAL")) {
			have_refresh = 1;
		} else if (depth == 1 && line_has_name(l, n, "X-PUBLISHED-TTL")) {
			have_ttl = 1;
		}
		pos = next;
	}
	if (!found_begin)
		return lks_error_set(LKS_EBADCONTENT, "empty: not an iCalendar file");

	if (ttl_seconds < LKS_ICAL_FEED_MIN_TTL)
		ttl_seconds = LKS_ICAL_FEED_MIN_TTL;
	if (ttl_seconds > LKS_ICAL_FEED_MAX_TTL)
		ttl_seconds = LKS_ICAL_FEED_MAX_TTL;
	h = ttl_seconds / 3600;
	m = ttl_seconds % 3600 / 60;
	s = ttl_seconds % 60;
	snprintf(dur, sizeof(dur), "PT");
	if (h)
		snprintf(dur + strlen(dur), sizeof(dur) - strlen(dur), "%ldH", h);
	if (m)
		snprintf(dur + strlen(dur), sizeof(dur) - strlen(dur), "%ldM", m);
	if (s)
		snprintf(dur + strlen(dur), sizeof(dur) - strlen(dur), "%ldS", s);

	sb_putn(&b, data, insert_at);
	if (insert_at > 0 && data[insert_at - 1] != '\n')
		sb_puts(&b, eol); /* the file was a single line without an end */
	if (!have_refresh)
		sb_printf(&b, "REFRESH-INTERVAL;VALUE=DURATION:%s%s", dur, eol);
	if (!have_ttl)
		sb_printf(&b, "X-PUBLISHED-TTL:%s%s", dur, eol);
	sb_putn(&b, data + insert_at, len - insert_at);
	if (b.oom) {
		free(b.p);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	*out_len = b.len;
	rc = sb_finish(&b, out);
	return rc;
}
