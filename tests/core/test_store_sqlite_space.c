/* SQLite specifics of giving space back: a new store is created with
 * incremental auto-vacuum (it must be set before WAL mode writes the first
 * page), a sweep followed by compaction shrinks the file, compaction never
 * reports progress it did not make, a mass expiry is given back at once by
 * VACUUM while a long free list in a store of many live items is left for
 * reuse, and an old store without auto-vacuum is converted when opened. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int pragma_int(const char *path, const char *pragma)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A PRAGMA's text answer (a static buffer). */
static const char *pragma_text(const char *path, const char *pragma)
{
	static char out[256];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	out[0] = '\0';
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static void fill(lks_store *store, int n, int64_t expires)
{
	static char blob[8192];
	lks_item it;

	memset(blob, 'x', sizeof(blob));
	for (int i = 0; i < n; i++) {
		memset(&it, 0, sizeof(it));
		assert_int_equal(lks_id_new(it.id), 0);
		it.type = "application/octet-stream";
		it.created_at = it.updated_at = 1000;
		it.expires_at = expires;
		it.version = 1;
		it.reads_left = LKS_READS_UNLIMITED;
		assert_int_equal(lks_store_put(store, &it, blob, sizeof(blob)), 0);
	}
}

static void test_new_store_shrinks_after_sweep(void **state)
{
	char dir[] = "/tmp/lks-space-XXXXXX", path[128], url[160], cmd[200];
	lks_store *store = NULL;
	unsigned purged;
	long long before, after;
	int rc, rounds = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_int_equal(lks_store_open(&store, url, NULL), 0);
	assert_int_equal(pragma_int(path, "PRAGMA auto_vacuum"), 2);
	fill(store, 600, 2000);
	do
		assert_int_equal(lks_store_sweep(store, &purged, 3000, 100), 0);
	while (purged == 100);
	while ((rc = lks_store_compact(store)) == 1)
		rounds++;
	assert_int_equal(rc, 0);
	assert_true(rounds > 0);
	/* Nothing left to free: the next call says so at once. */
	assert_int_equal(lks_store_compact(store), 0);
	lks_store_free(store);
	before = 600LL * 8192;
	after = file_size(path);
	assert_true(after >= 0 && after < before / 10);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* Compacts a store of `expired` items swept away and `live` kept (8 KiB each):
 * returns what compaction said, with the free pages left and the file's size
 * after closing; the live items are intact. */
static int compact_after(int expired, int live, int *free_left, long long *size)
{
	char dir[] = "/tmp/lks-space-XXXXXX", path[128], url[160], cmd[200];
	lks_store *store = NULL;
	unsigned purged;
	int64_t count;
	int rc;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	assert_int_equal(lks_store_open(&store, url, NULL), 0);
	fill(store, expired, 2000);
	fill(store, live, 9000);
	do
		assert_int_equal(lks_store_sweep(store, &purged, 3000, 500), 0);
	while (purged == 500);
	rc = lks_store_compact(store);
	*free_left = pragma_int(path, "PRAGMA freelist_count");
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, live);
	lks_store_free(store);
	*size = file_size(path);
	assert_string_equal(pragma_text(path, "PRAGMA integrity_check"), "ok");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return rc;
}

/* A long free list is not given back page by page (which costs more per page
 * the longer the list): at once by VACUUM when little is left to copy... */
static void test_mass_expiry_is_vacuumed_at_once(void **state)
{
	int free_left;
	long long size;

	(void)state;
	assert_int_equal(compact_after(2500, 50, &free_left, &size), 0);
	assert_int_equal(free_left, 0);
	assert_true(size > 0 && size < 50LL * 8192 * 3);
}

/* ...and otherwise left for new items to reuse, with nothing to do now. */
static void test_long_free_list_is_left_for_reuse(void **state)
{
	int free_left;
	long long size;

	(void)state;
	assert_int_equal(compact_after(2500, 3000, &free_left, &size), 0);
	assert_true(free_left > 4096);
}

static void test_old_store_without_autovacuum_is_converted(void **state)
{
	char dir[] = "/tmp/lks-space-XXXXXX", path[128], url[160], cmd[200];
	lks_store *store = NULL;
	sqlite3 *db = NULL;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/old.db", dir);
	snprintf(url, sizeof(url), "sqlite:%s", path);
	/* What the first linksyncd made: WAL before auto_vacuum, so none. */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x)", NULL, NULL,
				      NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(pragma_int(path, "PRAGMA auto_vacuum"), 0);
	assert_int_equal(lks_store_open(&store, url, NULL), 0);
	lks_store_free(store);
	assert_int_equal(pragma_int(path, "PRAGMA auto_vacuum"), 2);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_store_shrinks_after_sweep),
		cmocka_unit_test(test_mass_expiry_is_vacuumed_at_once),
		cmocka_unit_test(test_long_free_list_is_left_for_reuse),
		cmocka_unit_test(test_old_store_without_autovacuum_is_converted),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
