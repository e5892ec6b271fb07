/* Unit tests of the live-link helpers (src/cli/cli_live.c): the retry
 * back-off, the long-poll address, how inotify events on the watched file's
 * directory are read (the three ways editors save, and what must not count),
 * the settle delays, and the server's times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli.h"
#include "linksync/error.h"

#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>

static void test_backoff(void **state)
{
	static const unsigned want[] = {1, 2, 4, 8, 16, 30, 30, 30};
	unsigned b = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		b = cli_backoff_next(b);
		assert_int_equal(b, want[i]);
	}
	/* Never above the maximum, whatever it is given. */
	assert_int_equal(cli_backoff_next(29), CLI_BACKOFF_MAX);
	assert_int_equal(cli_backoff_next(1000), CLI_BACKOFF_MAX);
	assert_int_equal(cli_backoff_next(14), 28);
}

static void test_wait_url(void **state)
{
	char *u = NULL;

	(void)state;
	assert_int_equal(cli_wait_url(&u, "http://h:1/abc/raw", 60), 0);
	assert_string_equal(u, "http://h:1/abc/raw?wait=60");
	free(u);
	assert_int_equal(cli_wait_url(&u, "http://h/abc/raw?download=1", 5), 0);
	assert_string_equal(u, "http://h/abc/raw?download=1&wait=5");
	free(u);
	/* A fragment never reaches the server, and would swallow the query. */
	assert_int_equal(cli_wait_url(&u, "http://h/abc/raw#key?x", 300), 0);
	assert_string_equal(u, "http://h/abc/raw?wait=300");
	free(u);
}

static void test_classify_saves(void **state)
{
	(void)state;
	/* echo >> FILE, or truncate and write: written in place, then closed. */
	assert_int_equal(cli_watch_classify(IN_MODIFY, "f.txt", "f.txt"), CLI_WATCH_WRITING);
	assert_int_equal(cli_watch_classify(IN_CLOSE_WRITE, "f.txt", "f.txt"), CLI_WATCH_WRITTEN);
	/* mv tmp FILE, vim's rename: complete at once. */
	assert_int_equal(cli_watch_classify(IN_MOVED_TO, "f.txt", "f.txt"), CLI_WATCH_WRITTEN);
	/* A new file under the name (after a delete, or a link): being written. */
	assert_int_equal(cli_watch_classify(IN_CREATE, "f.txt", "f.txt"), CLI_WATCH_WRITING);
	/* Removed, or renamed away (vim's backup rename): may come back. */
	assert_int_equal(cli_watch_classify(IN_DELETE, "f.txt", "f.txt"), CLI_WATCH_REMOVED);
	assert_int_equal(cli_watch_classify(IN_MOVED_FROM, "f.txt", "f.txt"), CLI_WATCH_REMOVED);
}

static void test_classify_others(void **state)
{
	(void)state;
	/* Other files in the directory: the editor's temporary file, a
	 * backup, a name that only starts the same. */
	assert_int_equal(cli_watch_classify(IN_CLOSE_WRITE, ".f.txt.swp", "f.txt"),
			 CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_MOVED_FROM, "f.txt.tmp", "f.txt"), CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_MODIFY, "f.txt~", "f.txt"), CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_MODIFY, "f.tx", "f.txt"), CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_MODIFY, NULL, "f.txt"), CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_MODIFY, "", "f.txt"), CLI_WATCH_IGNORE);
	/* Reading or chmod changes no content. */
	assert_int_equal(cli_watch_classify(IN_ATTRIB, "f.txt", "f.txt"), CLI_WATCH_IGNORE);
	assert_int_equal(cli_watch_classify(IN_CLOSE_NOWRITE, "f.txt", "f.txt"), CLI_WATCH_IGNORE);
	/* Lost events: look again; the directory itself gone: stop. */
	assert_int_equal(cli_watch_classify(IN_Q_OVERFLOW, NULL, "f.txt"), CLI_WATCH_RESCAN);
	assert_int_equal(cli_watch_classify(IN_DELETE_SELF, NULL, "f.txt"), CLI_WATCH_DIR_GONE);
	assert_int_equal(cli_watch_classify(IN_MOVE_SELF, NULL, "f.txt"), CLI_WATCH_DIR_GONE);
	assert_int_equal(cli_watch_classify(IN_IGNORED, NULL, "f.txt"), CLI_WATCH_DIR_GONE);
	assert_int_equal(cli_watch_classify(IN_UNMOUNT, NULL, "f.txt"), CLI_WATCH_DIR_GONE);
}

static void test_settle(void **state)
{
	(void)state;
	assert_int_equal(cli_watch_settle_ms(CLI_WATCH_WRITTEN), CLI_SETTLE_MS);
	assert_int_equal(cli_watch_settle_ms(CLI_WATCH_REMOVED), CLI_SETTLE_MS);
	assert_int_equal(cli_watch_settle_ms(CLI_WATCH_RESCAN), CLI_SETTLE_MS);
	/* A file still open for writing waits longer than a closed one. */
	assert_true(cli_watch_settle_ms(CLI_WATCH_WRITING) >
		    cli_watch_settle_ms(CLI_WATCH_WRITTEN));
	assert_int_equal(cli_watch_settle_ms(CLI_WATCH_IGNORE), 0);
	assert_int_equal(cli_watch_settle_ms(CLI_WATCH_DIR_GONE), 0);
}

static void test_time(void **state)
{
	int64_t t = -1;

	(void)state;
	assert_int_equal(cli_time_parse_utc(&t, "1970-01-01T00:00:00Z"), 0);
	assert_int_equal(t, 0);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17Z"), 0);
	assert_int_equal(t, 1795878917);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17.250Z"), 0);
	assert_int_equal(t, 1795878917);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17"), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17+01:00"), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17Zjunk"), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, "2026-11-28T15:15:17.Z"), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, "tomorrow"), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, ""), LKS_EINVAL);
	assert_int_equal(cli_time_parse_utc(&t, NULL), LKS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff),	   cmocka_unit_test(test_wait_url),
	    cmocka_unit_test(test_classify_saves), cmocka_unit_test(test_classify_others),
	    cmocka_unit_test(test_settle),	   cmocka_unit_test(test_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
