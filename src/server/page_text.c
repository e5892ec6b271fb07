/* Text helpers for the item page: HTML text from bytes that may not be
 * UTF-8, percent-encoding for links built from user content, the web-URL
 * check, and dates and durations in English words. */
#include "page.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Length of the valid UTF-8 sequence at s (at most len bytes), or 0. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
	size_t n;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void lks_page_text(struct buf *b, const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t run = 0, i = 0;

	while (i < len) {
		const char *rep = NULL;
		size_t n = 1;

		switch (s[i]) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		case '\t':
		case '\n':
			break;
		case '\r':
			/* CRLF reads as one line break; a lone CR is dropped too. */
			rep = "";
			break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7f) {
				rep = "\xef\xbf\xbd";
			} else {
				n = utf8_seq(s + i, len - i);
				if (n == 0) {
					n = 1;
					rep = "\xef\xbf\xbd";
				}
			}
		}
		if (rep != NULL) {
			buf_add(b, str + run, i - run);
			buf_puts(b, rep);
			run = i + n;
		}
		i += n;
	}
	buf_add(b, str + run, len - run);
}

void lks_page_url_encode(struct buf *b, const char *s, size_t len, const char *keep)
{
	static const char hex[] = "0123456789ABCDEF";

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char enc[3];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep != NULL && c != '\0' && strchr(keep, c) != NULL && c != '"' && c != '<' &&
		     c != '>' && c != '&' && c != '\'')) {
			buf_add(b, (const char *)&s[i], 1);
			continue;
		}
		enc[0] = '%';
		enc[1] = hex[c >> 4];
		enc[2] = hex[c & 15];
		buf_add(b, enc, 3);
	}
}

int lks_page_is_web_url(const char *url)
{
	const char *rest;

	if (url == NULL)
		return 0;
	if (strncasecmp(url, "https://", 8) == 0)
		rest = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		rest = url + 7;
	else
		return 0;
	if (*rest == '\0' || *rest == '/')
		return 0; /* no host */
	for (const unsigned char *p = (const unsigned char *)url; *p != '\0'; p++)
		if (*p <= 0x20 || *p == 0x7f || *p == '"' || *p == '<' || *p == '>' || *p == '\\' ||
		    *p == '`' || *p == '\'')
			return 0;
	return 1;
}

static const char *const month_names[] = {"January",   "February", "March",    "April",
					  "May",       "June",	   "July",     "August",
					  "September", "October",  "November", "December"};
static const char *const weekday_names[] = {"Sunday",	"Monday", "Tuesday", "Wednesday",
					    "Thursday", "Friday", "Saturday"};

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long long days_from_civil(int y, int m, int d)
{
	long long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void lks_page_date(char *out, size_t outsz, int year, int month, int day)
{
	long long days;
	int wd;

	if (month < 1 || month > 12 || day < 1 || day > 31) {
		snprintf(out, outsz, "%04d-%02d-%02d", year, month, day);
		return;
	}
	days = days_from_civil(year, month, day);
	wd = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
	snprintf(out, outsz, "%s %d %s %d", weekday_names[wd], day, month_names[month - 1], year);
}

void lks_page_relative(char *out, size_t outsz, int64_t s)
{
	long long n;
	const char *unit;

	if (s < 60) {
		snprintf(out, outsz, "in less than a minute");
		return;
	}
	if (s < 3600) {
		n = (s + 30) / 60;
		unit = "minute";
	} else if (s < 2 * 86400) {
		n = (s + 1800) / 3600;
		unit = "hour";
	} else {
		n = (s + 43200) / 86400;
		unit = "day";
	}
	snprintf(out, outsz, "in %lld %s%s", n, unit, n == 1 ? "" : "s");
}
