/* Durations, sizes and dates as people and HTTP write them. */
#include "linksync/units.h"

#include "linksync/error.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define TEN_YEARS (10LL * 366 * 86400)

int lks_duration_parse(int64_t *out, const char *s)
{
	int64_t total = 0;
	const char *p = s;

	if (s == NULL || *s == '\0')
		return lks_error_set(LKS_EINVAL, "empty duration: use e.g. 10m, 2h or 7d");
	while (*p != '\0') {
		int64_t n = 0, unit = 1;
		const char *start = p;

		while (isdigit((unsigned char)*p)) {
			n = n * 10 + (*p - '0');
			if (n > TEN_YEARS)
				return lks_error_set(LKS_EINVAL, "duration '%s' is too long", s);
			p++;
		}
		if (p == start)
			return lks_error_set(LKS_EINVAL,
					     "bad duration '%s': use a number and s, m, h, d or w (e.g. 2h)",
					     s);
		switch (*p) {
		case 's':
			p++;
			break;
		case 'm':
			unit = 60;
			p++;
			break;
		case 'h':
			unit = 3600;
			p++;
			break;
		case 'd':
			unit = 86400;
			p++;
			break;
		case 'w':
			unit = 7 * 86400;
			p++;
			break;
		case '\0':
			if (start != s)
				return lks_error_set(LKS_EINVAL, "bad duration '%s': the last number has no unit", s);
			break;
		default:
			return lks_error_set(LKS_EINVAL,
					     "bad duration '%s': use a number and s, m, h, d or w (e.g. 2h)",
					     s);
		}
		total += n * unit;
		if (total > TEN_YEARS)
			return lks_error_set(LKS_EINVAL, "duration '%s' is too long", s);
	}
	if (total <= 0)
		return lks_error_set(LKS_EINVAL, "duration '%s' must be longer than zero", s);
	*out = total;
	return 0;
}

void lks_duration_format(char *out, size_t outsz, int64_t seconds)
{
	static const struct {
		int64_t size;
		char unit;
	} units[] = {{86400, 'd'}, {3600, 'h'}, {60, 'm'}, {1, 's'}};
	size_t used = 0;

	out[0] = '\0';
	if (seconds <= 0) {
		snprintf(out, outsz, "0s");
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && used < outsz; i++) {
		int64_t n = seconds / units[i].size;
		if (n == 0)
			continue;
		seconds -= n * units[i].size;
		used += (size_t)snprintf(out + used, outsz - used, "%lld%c", (long long)n, units[i].unit);
	}
}

int lks_size_parse(uint64_t *out, const char *s)
{
	uint64_t n = 0, unit = 1;
	const char *p = s;

	if (s == NULL || !isdigit((unsigned char)*p))
		return lks_error_set(LKS_EINVAL, "bad size '%s': use bytes or a K, M or G suffix (e.g. 25M)",
				     s ? s : "");
	while (isdigit((unsigned char)*p)) {
		if (n > (UINT64_MAX - 9) / 10)
			return lks_error_set(LKS_EINVAL, "size '%s' is too large", s);
		n = n * 10 + (uint64_t)(*p - '0');
		p++;
	}
	if (*p != '\0') {
		static const char *const suffixes = "KMG";
		const char *u = strchr(suffixes, toupper((unsigned char)*p));

		if (strcasecmp(p, "B") == 0) {
			unit = 1;
		} else if (u == NULL || !(p[1] == '\0' || strcasecmp(p + 1, "B") == 0 ||
					  strcasecmp(p + 1, "iB") == 0)) {
			return lks_error_set(LKS_EINVAL,
					     "bad size '%s': use bytes or a K, M or G suffix (e.g. 25M)", s);
		} else {
			unit = 1ULL << (10 * (u - suffixes + 1));
		}
	}
	if (n > UINT64_MAX / unit)
		return lks_error_set(LKS_EINVAL, "size '%s' is too large", s);
	*out = n * unit;
	return 0;
}

void lks_time_rfc3339(char *out, size_t outsz, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

void lks_time_http(char *out, size_t outsz, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	/* strftime's %a and %b follow the locale; HTTP wants English. */
	gmtime_r(&tt, &tm);
	snprintf(out, outsz, "%s, %02d %s %04d %02d:%02d:%02d GMT", wdays[tm.tm_wday], tm.tm_mday,
		 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

int lks_time_http_parse(int64_t *out, const char *s)
{
	char wd[4], mon[4], zone[4];
	int day, year, h, m, sec;
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL ||
	    sscanf(s, "%3s, %d %3s %d %d:%d:%d %3s", wd, &day, mon, &year, &h, &m, &sec, zone) != 8 ||
	    strcmp(zone, "GMT") != 0)
		return lks_error_set(LKS_EINVAL, "not an HTTP date");
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (strcmp(mon, months[i]) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon < 0 || day < 1 || day > 31 || h > 23 || m > 59 || sec > 60 || year < 1970)
		return lks_error_set(LKS_EINVAL, "not an HTTP date");
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	*out = (int64_t)timegm(&tm);
	return 0;
}

int64_t lks_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec;
}
