/* Unit tests of the client's file helpers (src/cli/cli_file.c): atomic writes
 * that leave no temporary file, a commit that refuses to replace, an abort
 * that leaves nothing, devices written in place, reading a whole stream. The
 * helpers are internal to the client, so their source is compiled in here. */
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

#include <dirent.h>

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/lks-cli-file.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	}
	closedir(d);
	return n;
}

static char *slurp(const char *path, size_t *len)
{
	unsigned char *data = NULL;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(cli_read_all(&data, len, fd), 0);
	close(fd);
	return (char *)data;
}

static void test_write_file(void **state)
{
	char path[128], *got;
	size_t len;
	struct stat st;
	mode_t old;

	(void)state;
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	old = umask(022);
	assert_int_equal(cli_write_file(path, "first", 5), 0);
	assert_int_equal(cli_write_file(path, "second", 6), 0);
	umask(old);
	got = slurp(path, &len);
	assert_int_equal(len, 6);
	assert_memory_equal(got, "second", 6);
	free(got);
	assert_int_equal(entries(), 1);
	/* The usual mode for a new file, not mkstemp's 0600. */
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* An empty file is a file. */
	assert_int_equal(cli_write_file(path, "", 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void test_no_replace_and_abort(void **state)
{
	struct cli_tmpfile t;
	char path[128], *got;
	size_t len;

	(void)state;
	snprintf(path, sizeof(path), "%s/keep.txt", dir);
	assert_int_equal(cli_write_file(path, "mine", 4), 0);

	assert_int_equal(cli_tmpfile_open(&t, path), 0);
	fputs("theirs", t.f);
	assert_int_equal(cli_tmpfile_commit(&t, true), LKS_EIO);
	got = slurp(path, &len);
	assert_memory_equal(got, "mine", 4);
	free(got);
	assert_int_equal(entries(), 1);

	assert_int_equal(cli_tmpfile_open(&t, path), 0);
	fputs("half", t.f);
	cli_tmpfile_abort(&t);
	cli_tmpfile_abort(&t); /* a released one is accepted */
	assert_int_equal(entries(), 1);

	snprintf(path, sizeof(path), "%s/new.txt", dir);
	assert_int_equal(cli_tmpfile_open(&t, path), 0);
	fputs("fresh", t.f);
	assert_int_equal(cli_tmpfile_commit(&t, true), 0);
	got = slurp(path, &len);
	assert_memory_equal(got, "fresh", 5);
	free(got);
	assert_int_equal(entries(), 2);
}

static void test_devices_and_errors(void **state)
{
	char path[128];

	(void)state;
	/* Written in place: /dev/null stays a device. */
	assert_int_equal(cli_write_file("/dev/null", "x", 1), 0);
	{
		struct stat st;

		assert_int_equal(stat("/dev/null", &st), 0);
		assert_true(S_ISCHR(st.st_mode));
	}
	assert_int_equal(cli_write_file("/nonexistent-dir/x", "x", 1), LKS_EIO);
	assert_int_equal(cli_write_file(dir, "x", 1), LKS_EIO); /* a directory */
	snprintf(path, sizeof(path), "%s/sub/x", dir);
	assert_int_equal(cli_write_file(path, "x", 1), LKS_EIO);
}

static void test_read_all(void **state)
{
	int fds[2];
	unsigned char *data = NULL;
	size_t len = 0, i;
	static unsigned char big[300000];

	(void)state;
	for (i = 0; i < sizeof(big); i++)
		big[i] = (unsigned char)(i * 7);
	assert_int_equal(pipe(fds), 0);
	if (fork() == 0) {
		close(fds[0]);
		for (i = 0; i < sizeof(big); i += 1000)
			(void)!write(fds[1], big + i, 1000);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(cli_read_all(&data, &len, fds[0]), 0);
	close(fds[0]);
	assert_int_equal(len, sizeof(big));
	assert_memory_equal(data, big, sizeof(big));
	assert_int_equal(data[len], 0); /* NUL-terminated for convenience */
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_write_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_replace_and_abort, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_devices_and_errors, setup, teardown),
	    cmocka_unit_test(test_read_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
