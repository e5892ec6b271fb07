/* Pure helpers of the live links (push --watch, pull --follow): the back-off
 * between retries, the long-poll address, what an inotify event on the
 * watched file's directory means for that file, and the server's RFC 3339
 * times. No I/O here, so every rule is unit-tested (tests/cli/test_cli_live.c). */
#include "cli.h"

#include "linksync/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>

unsigned cli_backoff_next(unsigned prev)
{
	if (prev == 0)
		return 1;
	if (prev >= CLI_BACKOFF_MAX / 2)
		return CLI_BACKOFF_MAX;
	return prev * 2;
}

int cli_wait_url(char **out, const char *url, unsigned seconds)
{
	size_t n = strcspn(url, "#"), size;
	char sep = memchr(url, '?', n) ? '&' : '?';

	*out = NULL;
	size = n + 32;
	*out = malloc(size);
	if (!*out)
		return LKS_ENOMEM;
	snprintf(*out, size, "%.*s%cwait=%u", (int)n, url, sep, seconds);
	return 0;
}

enum cli_watch_event cli_watch_classify(uint32_t mask, const char *name, const char *watched)
{
	/* The kernel dropped events: anything may have happened to the file. */
	if (mask & IN_Q_OVERFLOW)
		return CLI_WATCH_RESCAN;
	/* Events on the directory itself carry no name. */
	if (mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED))
		return CLI_WATCH_DIR_GONE;
	if (!name || !name[0] || strcmp(name, watched) != 0)
		return CLI_WATCH_IGNORE;
	/* A rename over the file (vim, most editors: write a temporary file,
	 * then rename) is its new version complete; so is a writer closing it. */
	if (mask & (IN_MOVED_TO | IN_CLOSE_WRITE))
		return CLI_WATCH_WRITTEN;
	if (mask & (IN_DELETE | IN_MOVED_FROM))
		return CLI_WATCH_REMOVED;
	/* Being written (or created, or linked into place): complete once the
	 * writer closes it, or once it has been quiet a while. */
	if (mask & (IN_MODIFY | IN_CREATE))
		return CLI_WATCH_WRITING;
	return CLI_WATCH_IGNORE;
}

unsigned cli_watch_settle_ms(enum cli_watch_event ev)
{
	switch (ev) {
	case CLI_WATCH_WRITING:
		return CLI_SETTLE_OPEN_MS;
	case CLI_WATCH_WRITTEN:
	case CLI_WATCH_REMOVED:
	case CLI_WATCH_RESCAN:
		return CLI_SETTLE_MS;
	default:
		return 0;
	}
}

int cli_time_parse_utc(int64_t *out, const char *s)
{
	struct tm tm;
	const char *end;

	*out = 0;
	if (!s)
		return LKS_EINVAL;
	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		return LKS_EINVAL;
	/* Fractions of a second do not matter here. */
	if (*end == '.') {
		end++;
		if (*end < '0' || *end > '9')
			return LKS_EINVAL;
		while (*end >= '0' && *end <= '9')
			end++;
	}
	if ((*end != 'Z' && *end != 'z') || end[1] != '\0')
		return LKS_EINVAL;
	*out = (int64_t)timegm(&tm);
	return 0;
}
