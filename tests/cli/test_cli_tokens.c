/* Unit tests of the owner-token store (src/cli/cli_tokens.c): where it lives,
 * its modes, append and find, the latest record winning, removal with pruning,
 * survival of a torn last line, and refusal of symlinks. The store is
 * internal to the client, so its source is compiled in here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli.h"
#include "linksync/error.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


#include <fcntl.h>

static char root[64];
static char dir[128];
static char file[192];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/lks-cli-tokens.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	/* Two levels that do not exist yet: the store creates them. */
	snprintf(dir, sizeof(dir), "%s/state/linksync", root);
	snprintf(file, sizeof(file), "%s/tokens.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static struct cli_token rec(const char *id, const char *token, const char *expires)
{
	struct cli_token t = {
	    .id = (char *)id,
	    .url = (char *)"http://h/x",
	    .token = (char *)token,
	    .expires_at = (char *)expires,
	    .server = (char *)"http://h",
	};
	return t;
}

#define ID1 "aaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID2 "bbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID3 "cccccccccccccccccccccccccc"

static void test_dir_from_env(void **state)
{
	char *d = NULL;

	(void)state;
	setenv("XDG_STATE_HOME", "/somewhere/state", 1);
	assert_int_equal(cli_tokens_dir(&d), 0);
	assert_string_equal(d, "/somewhere/state/linksync");
	free(d);
	/* A relative XDG_STATE_HOME is invalid per the spec: HOME is used. */
	setenv("XDG_STATE_HOME", "relative", 1);
	setenv("HOME", "/home/u", 1);
	assert_int_equal(cli_tokens_dir(&d), 0);
	assert_string_equal(d, "/home/u/.local/state/linksync");
	free(d);
	unsetenv("XDG_STATE_HOME");
	assert_int_equal(cli_tokens_dir(&d), 0);
	assert_string_equal(d, "/home/u/.local/state/linksync");
	free(d);
}

static void test_add_find_modes(void **state)
{
	struct cli_token t = rec(ID1, "tok-one", "2999-01-01T00:00:00Z");
	struct cli_token *got = NULL;
	struct stat st;
	mode_t old = umask(0);

	(void)state;
	/* A missing store finds nothing and is no error. */
	assert_int_equal(cli_tokens_find(&got, dir, ID1), 0);
	assert_null(got);

	assert_int_equal(cli_tokens_add(dir, &t), 0);
	umask(old);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(cli_tokens_find(&got, dir, ID1), 0);
	assert_non_null(got);
	assert_string_equal(got->token, "tok-one");
	assert_string_equal(got->url, "http://h/x");
	assert_string_equal(got->expires_at, "2999-01-01T00:00:00Z");
	assert_string_equal(got->server, "http://h");
	cli_token_free(got);

	/* Ids match in any case; unknown ids find nothing. */
	assert_int_equal(cli_tokens_find(&got, dir, "AAAAAAAAAAAAAAAAAAAAAAAAAA"), 0);
	assert_non_null(got);
	cli_token_free(got);
	assert_int_equal(cli_tokens_find(&got, dir, ID2), 0);
	assert_null(got);
}

static void test_latest_wins_and_remove(void **state)
{
	struct cli_token a = rec(ID1, "old", "2999-01-01T00:00:00Z");
	struct cli_token b = rec(ID2, "two", "2999-01-01T00:00:00Z");
	struct cli_token a2 = rec(ID1, "new", "2999-01-02T00:00:00Z");
	struct cli_token expired = rec(ID3, "three", "2000-01-01T00:00:00Z");
	struct cli_token *got = NULL;
	struct stat st;

	(void)state;
	assert_int_equal(cli_tokens_add(dir, &a), 0);
	assert_int_equal(cli_tokens_add(dir, &b), 0);
	assert_int_equal(cli_tokens_add(dir, &a2), 0);
	assert_int_equal(cli_tokens_add(dir, &expired), 0);
	assert_int_equal(cli_tokens_find(&got, dir, ID1), 0);
	assert_string_equal(got->token, "new");
	cli_token_free(got);

	assert_int_equal(cli_tokens_remove(dir, ID1, "2024-06-01T12:00:00Z"), 0);
	assert_int_equal(cli_tokens_find(&got, dir, ID1), 0);
	assert_null(got);
	assert_int_equal(cli_tokens_find(&got, dir, ID2), 0);
	assert_non_null(got);
	assert_string_equal(got->token, "two");
	cli_token_free(got);
	/* Expired records are pruned on the way. */
	assert_int_equal(cli_tokens_find(&got, dir, ID3), 0);
	assert_null(got);
	/* The rewritten file keeps its mode and leaves no temporary behind. */
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	{
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 2", dir);
		assert_int_equal(system(cmd), 0); /* tokens.jsonl and tokens.lock */
	}
	/* Removing from a missing store is no error. */
	assert_int_equal(cli_tokens_remove("/nonexistent/linksync", ID1, NULL), 0);
}

static void test_torn_line_and_garbage(void **state)
{
	struct cli_token a = rec(ID1, "one", "");
	struct cli_token *got = NULL;
	FILE *f;

	(void)state;
	assert_int_equal(cli_tokens_add(dir, &a), 0);
	/* A crash left half a record and no newline. */
	f = fopen(file, "a");
	assert_non_null(f);
	fputs("not json\n{\"id\": \"bbbbbbbbbbbbbbbbbbbbbbbbbb\", \"owner_to", f);
	fclose(f);
	a = rec(ID3, "three", "");
	assert_int_equal(cli_tokens_add(dir, &a), 0);
	assert_int_equal(cli_tokens_find(&got, dir, ID3), 0);
	assert_non_null(got);
	assert_string_equal(got->token, "three");
	cli_token_free(got);
	assert_int_equal(cli_tokens_find(&got, dir, ID1), 0);
	assert_non_null(got);
	cli_token_free(got);
	assert_int_equal(cli_tokens_find(&got, dir, ID2), 0);
	assert_null(got);
}

static void test_tightens_and_refuses(void **state)
{
	struct cli_token a = rec(ID1, "one", "");
	struct stat st;
	char link_path[256];

	(void)state;
	assert_int_equal(cli_tokens_add(dir, &a), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(chmod(file, 0644), 0);
	assert_int_equal(cli_tokens_add(dir, &a), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* A symlink planted as the token file is refused, not followed. */
	assert_int_equal(unlink(file), 0);
	snprintf(link_path, sizeof(link_path), "%s/elsewhere", root);
	assert_int_equal(symlink(link_path, file), 0);
	assert_int_equal(cli_tokens_add(dir, &a), LKS_EIO);
	assert_int_equal(access(link_path, F_OK), -1);

	/* And so is a symlinked store directory. */
	{
		char other[256], linked[256];

		snprintf(other, sizeof(other), "%s/other", root);
		snprintf(linked, sizeof(linked), "%s/linked", root);
		assert_int_equal(mkdir(other, 0700), 0);
		assert_int_equal(symlink(other, linked), 0);
		assert_int_equal(cli_tokens_add(linked, &a), LKS_EIO);
	}
	/* A record needs an id and a token. */
	a.token = NULL;
	assert_int_equal(cli_tokens_add(dir, &a), LKS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dir_from_env),
	    cmocka_unit_test_setup_teardown(test_add_find_modes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_latest_wins_and_remove, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_torn_line_and_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tightens_and_refuses, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
