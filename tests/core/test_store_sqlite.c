/* The SQLite store: put and read back, expiry, counted reads under a race,
 * update, delete, sweep, reopening, and refusing a newer schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1800000000

struct fixture {
	char dir[64];
	char url[160];
	char path[128];
	lks_store *store;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/lks-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sub/linksync.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	assert_int_equal(lks_store_open(&f->store, f->url, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[200];

	lks_store_free(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void make_item(lks_item *it, const char *content, size_t len, int64_t ttl, int64_t reads)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(lks_id_new(it->id), 0);
	it->kind = LKS_KIND_NOTE;
	it->type = "text/plain; charset=utf-8";
	it->name = "note.txt";
	it->created_at = it->updated_at = NOW;
	it->expires_at = NOW + ttl;
	it->version = 1;
	it->reads_left = reads;
	it->size = (int64_t)len;
	lks_token_hash(it->token_hash, "token", 5);
	lks_sha256(it->content_hash, content, len);
}

static void test_put_get_read(void **state)
{
	struct fixture *f = *state;
	lks_item it, *got = NULL;
	void *content = NULL;
	size_t len = 0;

	make_item(&it, "hello", 5, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "hello", 5), 0);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), 0);
	assert_string_equal(got->id, it.id);
	assert_string_equal(got->type, it.type);
	assert_string_equal(got->name, "note.txt");
	assert_null(got->summary);
	assert_int_equal(got->size, 5);
	assert_int_equal(got->expires_at, NOW + 3600);
	assert_memory_equal(got->token_hash, it.token_hash, LKS_HASH_BYTES);
	lks_item_free(got);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(content, "hello", 5);
	assert_int_equal(got->reads_left, LKS_READS_UNLIMITED);
	lks_item_free(got);
	free(content);
	/* An unknown id is simply not found. */
	assert_int_equal(lks_store_get(f->store, &got, "aaaaaaaaaaaaaaaaaaaaaaaaaa", NOW), LKS_ENOTFOUND);
	assert_null(got);
	/* The same id twice is refused, and the first stays. */
	assert_int_equal(lks_store_put(f->store, &it, "other", 5), LKS_ESTORE);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), 0);
	assert_memory_equal(content, "hello", 5);
	lks_item_free(got);
	free(content);
}

static void test_empty_and_binary_content(void **state)
{
	struct fixture *f = *state;
	lks_item it, *got = NULL;
	unsigned char bin[70000];
	void *content = NULL;
	size_t len = 99;

	make_item(&it, "", 0, 60, LKS_READS_UNLIMITED);
	it.name = NULL;
	assert_int_equal(lks_store_put(f->store, &it, NULL, 0), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), 0);
	assert_int_equal(len, 0);
	assert_non_null(content);
	assert_null(got->name);
	lks_item_free(got);
	free(content);

	assert_int_equal(lks_random(bin, sizeof(bin)), 0);
	bin[10] = 0;
	make_item(&it, (char *)bin, sizeof(bin), 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, bin, sizeof(bin)), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(content, bin, sizeof(bin));
	lks_item_free(got);
	free(content);
}

static void test_expired_is_never_served(void **state)
{
	struct fixture *f = *state;
	lks_item it, *got = NULL;
	void *content = NULL;
	size_t len;

	make_item(&it, "x", 1, 10, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "x", 1), 0);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW + 9), 0);
	lks_item_free(got);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW + 10), LKS_ENOTFOUND);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 11, 0),
			 LKS_ENOTFOUND);
	assert_null(content);
}

static void test_counted_reads(void **state)
{
	struct fixture *f = *state;
	lks_item it, *got = NULL;
	void *content = NULL;
	size_t len;
	int64_t count;

	make_item(&it, "two", 3, 60, 2);
	assert_int_equal(lks_store_put(f->store, &it, "two", 3), 0);
	/* Uncounted reads (HEAD) do not consume. */
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), 0);
	assert_int_equal(got->reads_left, 2);
	lks_item_free(got);
	free(content);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT), 0);
	assert_int_equal(got->reads_left, 1);
	lks_item_free(got);
	free(content);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT), 0);
	assert_int_equal(got->reads_left, 0);
	assert_memory_equal(content, "two", 3);
	lks_item_free(got);
	free(content);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT),
			 LKS_ENOTFOUND);
	/* The last read deleted the item and its content. */
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, 0);
}

struct racer {
	lks_store *store;
	const char *id;
	int got;
	int errors;
};

static void *race(void *arg)
{
	struct racer *r = arg;
	lks_item *it = NULL;
	void *content = NULL;
	size_t len;
	int rc = lks_store_read(r->store, &it, &content, &len, r->id, NOW, LKS_STORE_COUNT);

	r->got = rc == 0;
	r->errors = rc < 0 && rc != LKS_ENOTFOUND;
	lks_item_free(it);
	free(content);
	return NULL;
}

static void test_last_read_raced_by_many_threads(void **state)
{
	struct fixture *f = *state;
	enum { N = 32 };
	pthread_t t[N];
	struct racer r[N];
	lks_item it;
	int winners = 0;

	for (int round = 0; round < 5; round++) {
		make_item(&it, "once", 4, 60, 1);
		assert_int_equal(lks_store_put(f->store, &it, "once", 4), 0);
		for (int i = 0; i < N; i++) {
			r[i] = (struct racer){f->store, it.id, 0, 0};
			assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
		}
		winners = 0;
		for (int i = 0; i < N; i++) {
			pthread_join(t[i], NULL);
			winners += r[i].got;
			assert_int_equal(r[i].errors, 0);
		}
		assert_int_equal(winners, 1);
	}
}

static void test_update_and_delete(void **state)
{
	struct fixture *f = *state;
	lks_item it, ch, *got = NULL;
	void *content = NULL;
	size_t len;
	char e1[48], e2[48];

	make_item(&it, "v1", 2, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	lks_item_etag(&it, e1, sizeof(e1));
	make_item(&ch, "version two", 11, 60, LKS_READS_UNLIMITED);
	ch.name = "renamed.txt";
	ch.summary = "sum";
	ch.kind = LKS_KIND_FILE;
	ch.type = "application/octet-stream";
	assert_int_equal(lks_store_update(f->store, &got, it.id, &ch, "version two", 11, NOW + 5), 0);
	assert_int_equal(got->version, 2);
	assert_int_equal(got->updated_at, NOW + 5);
	assert_int_equal(got->created_at, NOW);
	assert_int_equal(got->size, 11);
	assert_string_equal(got->name, "renamed.txt");
	assert_string_equal(got->summary, "sum");
	assert_int_equal(got->kind, LKS_KIND_FILE);
	assert_string_equal(got->type, "application/octet-stream");
	lks_item_etag(got, e2, sizeof(e2));
	assert_string_not_equal(e1, e2);
	lks_item_free(got);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 6, 0), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(content, "version two", 11);
	lks_item_free(got);
	free(content);
	/* Updating something that is gone changes nothing. */
	assert_int_equal(lks_store_update(f->store, NULL, "aaaaaaaaaaaaaaaaaaaaaaaaaa", &ch, "x", 1, NOW),
			 LKS_ENOTFOUND);
	assert_int_equal(lks_store_update(f->store, NULL, it.id, &ch, "x", 1, NOW + 61), LKS_ENOTFOUND);
	assert_int_equal(lks_store_delete(f->store, it.id), 0);
	assert_int_equal(lks_store_delete(f->store, it.id), LKS_ENOTFOUND);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), LKS_ENOTFOUND);
}

static void test_sweep_in_batches(void **state)
{
	struct fixture *f = *state;
	lks_item it;
	unsigned purged = 0, total = 0;
	int64_t count;
	int rc;

	for (int i = 0; i < 25; i++) {
		make_item(&it, "e", 1, i < 20 ? 5 : 500, LKS_READS_UNLIMITED);
		assert_int_equal(lks_store_put(f->store, &it, "e", 1), 0);
	}
	do {
		assert_int_equal(lks_store_sweep(f->store, &purged, NOW + 10, 7), 0);
		assert_true(purged <= 7);
		total += purged;
	} while (purged == 7);
	assert_int_equal(total, 20);
	while ((rc = lks_store_compact(f->store)) == 1)
		;
	assert_int_equal(rc, 0);
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, 5);
}

static void test_reopen_keeps_items(void **state)
{
	struct fixture *f = *state;
	lks_item it, *got = NULL;

	make_item(&it, "keep", 4, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "keep", 4), 0);
	lks_store_free(f->store);
	assert_int_equal(lks_store_open(&f->store, f->url, NULL), 0);
	assert_string_equal(lks_store_backend(f->store), "sqlite");
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), 0);
	lks_item_free(got);
}

static void test_refuses_newer_schema_and_bad_urls(void **state)
{
	struct fixture *f = *state;
	lks_store *other = NULL;
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(lks_store_open(&other, f->url, NULL), LKS_ESTORE);
	assert_non_null(strstr(lks_error_message(), "newer"));
	assert_null(other);
	assert_int_equal(lks_store_open(&other, "mysql://x", NULL), LKS_EINVAL);
	assert_int_equal(lks_store_open(&other, "sqlite:", NULL), LKS_EINVAL);
	assert_int_equal(lks_store_open(&other, "sqlite:/proc/no/such/dir/x.db", NULL), LKS_ESTORE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_read, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty_and_binary_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expired_is_never_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counted_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_last_read_raced_by_many_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep_in_batches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_newer_schema_and_bad_urls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
