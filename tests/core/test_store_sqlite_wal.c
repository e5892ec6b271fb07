/* SQLite's write-ahead log once commits no longer checkpoint: the store's
 * own thread and the committing thread past a hard bound keep the WAL
 * bounded under writes with no pause between them, a reader holding an old
 * snapshot lets it grow only while it reads (it is given back afterwards,
 * and the data is whole across close and reopen), and closing the store
 * stops its thread. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/store.h"
#include "store/backend.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONTENT 4096
/* The longest the WAL may be without readers in the way: the hard bound,
 * plus the commit that crossed it, at 4 KiB pages (a frame is a page and a
 * 24-byte header; the file has a 32-byte header). */
#define WAL_BOUND ((LKS_SQLITE_WAL_HARD_FRAMES + 64LL) * (4096 + 24) + 32)

struct wal_fixture {
	char dir[64];
	char path[128];
	char wal[160];
	char url[160];
};

static int setup(void **state)
{
	struct wal_fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/lks-wal-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/w.db", f->dir);
	snprintf(f->wal, sizeof(f->wal), "%s-wal", f->path);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct wal_fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

/* The content of item i: different for every item. */
static void content_of(unsigned char *buf, int i)
{
	for (int k = 0; k < CONTENT; k++)
		buf[k] = (unsigned char)(i * 31 + k * 7);
}

/* Puts items first..first+n-1 (their ids into ids, if not NULL) and returns
 * the largest size the WAL file had after a put. */
static long long put_many(lks_store *store, const char *wal, int first, int n,
			  char (*ids)[LKS_ID_LEN + 1])
{
	static unsigned char buf[CONTENT];
	long long most = 0;
	lks_item it;

	for (int i = first; i < first + n; i++) {
		long long size;

		memset(&it, 0, sizeof(it));
		assert_int_equal(lks_id_new(it.id), 0);
		it.type = "application/octet-stream";
		it.created_at = it.updated_at = 1000;
		it.expires_at = 4000000000LL;
		it.version = 1;
		it.reads_left = LKS_READS_UNLIMITED;
		content_of(buf, i);
		assert_int_equal(lks_store_put(store, &it, buf, sizeof(buf)), 0);
		if (ids != NULL)
			memcpy(ids[i], it.id, sizeof(ids[i]));
		size = file_size(wal);
		if (size > most)
			most = size;
	}
	return most;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Writes back to back leave a passive checkpoint no pause in which to reach
 * the end of the WAL: without the committing thread's own checkpoint past the
 * bound, the WAL would only grow. 5000 puts make some 30,000 frames. */
static void test_bounded_under_sustained_puts(void **state)
{
	struct wal_fixture *f = *state;
	lks_store *store = NULL;
	long long most;
	int64_t count = 0;

	assert_int_equal(lks_store_open(&store, f->url, NULL), 0);
	most = put_many(store, f->wal, 0, 5000, NULL);
	assert_true(most > 0);
	assert_true(most <= WAL_BOUND);
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, 5000);
	lks_store_free(store);
}

static void test_reader_in_the_way_then_released(void **state)
{
	struct wal_fixture *f = *state;
	static char ids[3000][LKS_ID_LEN + 1];
	static unsigned char want[CONTENT];
	lks_store *store = NULL;
	sqlite3 *reader = NULL;
	sqlite3_stmt *st = NULL;
	int64_t count = 0;
	long long most;
	int waited = 0;

	assert_int_equal(lks_store_open(&store, f->url, NULL), 0);
	put_many(store, f->wal, 0, 10, ids);
	/* Another connection holds a read transaction on the store as it is. */
	assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
	assert_int_equal(sqlite3_exec(reader, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(reader, "SELECT count(*) FROM items", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 10);
	sqlite3_finalize(st);
	/* Puts go on (nothing waits for the reader), and no checkpoint can
	 * copy past its snapshot: the WAL grows beyond the bound. */
	most = put_many(store, f->wal, 10, 2990, ids);
	assert_true(most > WAL_BOUND);
	assert_int_equal(sqlite3_exec(reader, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(reader);
	/* Released, and then nobody writes: the checkpointer copies the WAL
	 * and gives its space back. */
	while (file_size(f->wal) > 4 << 20 && waited < 10000) {
		sleep_ms(50);
		waited += 50;
	}
	assert_true(file_size(f->wal) <= 4 << 20);
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, 3000);
	lks_store_free(store);
	/* Closed: everything is in the database file, which is sound. */
	assert_int_equal(file_size(f->wal), 0);
	assert_int_equal(sqlite3_open(f->path, &reader), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(reader, "PRAGMA integrity_check", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(reader);
	/* Reopened: every item, with its own bytes. */
	assert_int_equal(lks_store_open(&store, f->url, NULL), 0);
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, 3000);
	for (int i = 0; i < 3000; i += 7) {
		lks_item *it = NULL;
		void *got = NULL;
		size_t len = 0;

		assert_int_equal(lks_store_read(store, &it, &got, &len, ids[i], 2000, 0), 0);
		content_of(want, i);
		assert_int_equal(len, CONTENT);
		assert_memory_equal(got, want, CONTENT);
		lks_item_free(it);
		free(got);
	}
	lks_store_free(store);
}

static int threads_now(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void test_close_stops_the_thread(void **state)
{
	struct wal_fixture *f = *state;
	int before = threads_now();

	for (int round = 0; round < 20; round++) {
		lks_store *store = NULL;

		assert_int_equal(lks_store_open(&store, f->url, NULL), 0);
		assert_true(threads_now() > before);
		put_many(store, f->wal, round, 1, NULL);
		lks_store_free(store);
		assert_int_equal(threads_now(), before);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bounded_under_sustained_puts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_in_the_way_then_released, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_close_stops_the_thread, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
