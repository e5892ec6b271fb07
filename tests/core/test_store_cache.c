/* The read cache in front of SQLite: hits (after a read or a metadata
 * lookup), and that every write through the store is seen at once; limited
 * items are never cached; expiry holds. */
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

struct fx {
	char dir[64], path[128], url[160];
	lks_store *store;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	lks_store_options o = {.cache_bytes = 1 << 20};

	snprintf(f->dir, sizeof(f->dir), "/tmp/lks-cache-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/c.db", f->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	assert_int_equal(lks_store_open(&f->store, f->url, &o), 0);
	assert_string_equal(lks_store_backend(f->store), "sqlite");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	lks_store_free(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void put(struct fx *f, lks_item *it, const char *content, int64_t reads, int64_t ttl)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(lks_id_new(it->id), 0);
	it->type = "text/plain; charset=utf-8";
	it->created_at = it->updated_at = NOW;
	it->expires_at = NOW + ttl;
	it->version = 1;
	it->reads_left = reads;
	it->size = (int64_t)strlen(content);
	lks_sha256(it->content_hash, content, strlen(content));
	assert_int_equal(lks_store_put(f->store, it, content, strlen(content)), 0);
}

/* Reads an item's content as a string (caller frees), or NULL when absent. */
static char *read_str(struct fx *f, const char *id, int64_t now, unsigned flags)
{
	lks_item *it = NULL;
	void *c = NULL;
	size_t n = 0;
	char *s;

	if (lks_store_read(f->store, &it, &c, &n, id, now, flags) != 0)
		return NULL;
	s = malloc(n + 1);
	memcpy(s, c, n);
	s[n] = '\0';
	lks_item_free(it);
	free(c);
	return s;
}

/* Changes the stored bytes behind the store's back. */
static void poke(struct fx *f, const char *id, const char *content)
{
	sqlite3 *db;
	char sql[256];

	snprintf(sql, sizeof(sql),
		 "UPDATE contents SET data = CAST('%s' AS BLOB) WHERE item = "
		 "(SELECT rowid FROM items WHERE id = '%s')",
		 content, id);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_hit_and_invalidation(void **state)
{
	struct fx *f = *state;
	lks_item it, ch, *meta = NULL;
	char *s;

	put(f, &it, "one", LKS_READS_UNLIMITED, 60);
	s = read_str(f, it.id, NOW, LKS_STORE_COUNT);
	assert_string_equal(s, "one");
	free(s);
	/* A second read is served from memory: it does not see a change made
	 * behind the store's back (which no supported setup makes). */
	poke(f, it.id, "sneaky");
	s = read_str(f, it.id, NOW, LKS_STORE_COUNT);
	assert_string_equal(s, "one");
	free(s);
	assert_int_equal(lks_store_get(f->store, &meta, it.id, NOW), 0);
	assert_int_equal(meta->version, 1);
	lks_item_free(meta);
	/* An update through the store is seen at once. */
	memset(&ch, 0, sizeof(ch));
	ch.type = "text/plain; charset=utf-8";
	lks_sha256(ch.content_hash, "two", 3);
	assert_int_equal(lks_store_update(f->store, NULL, it.id, &ch, "two", 3, NOW + 1), 0);
	s = read_str(f, it.id, NOW + 1, LKS_STORE_COUNT);
	assert_string_equal(s, "two");
	free(s);
	assert_int_equal(lks_store_get(f->store, &meta, it.id, NOW + 1), 0);
	assert_int_equal(meta->version, 2);
	lks_item_free(meta);
	/* So is a delete. */
	assert_int_equal(lks_store_delete(f->store, it.id), 0);
	assert_null(read_str(f, it.id, NOW + 1, 0));
	assert_int_equal(lks_store_get(f->store, &meta, it.id, NOW + 1), LKS_ENOTFOUND);
}

/* A metadata lookup (an item page, a QR code) brings the content into the
 * cache too, so that what follows is served from memory; not for limited
 * items. */
static void test_get_fills_the_cache(void **state)
{
	struct fx *f = *state;
	lks_item it, lim, *meta = NULL;
	char *s;

	put(f, &it, "one", LKS_READS_UNLIMITED, 60);
	assert_int_equal(lks_store_get(f->store, &meta, it.id, NOW), 0);
	lks_item_free(meta);
	poke(f, it.id, "sneaky");
	s = read_str(f, it.id, NOW, 0);
	assert_string_equal(s, "one");
	free(s);
	put(f, &lim, "limited", 2, 60);
	assert_int_equal(lks_store_get(f->store, &meta, lim.id, NOW), 0);
	lks_item_free(meta);
	poke(f, lim.id, "changed");
	s = read_str(f, lim.id, NOW, LKS_STORE_COUNT);
	assert_string_equal(s, "changed");
	free(s);
}

static void test_expiry_applies_to_cached_items(void **state)
{
	struct fx *f = *state;
	lks_item it;
	char *s;

	put(f, &it, "brief", LKS_READS_UNLIMITED, 10);
	s = read_str(f, it.id, NOW, 0);
	assert_string_equal(s, "brief");
	free(s);
	assert_null(read_str(f, it.id, NOW + 10, 0));
	/* Dropped from memory at expiry; still readable from the database
	 * before it (a clock that went back). */
	s = read_str(f, it.id, NOW + 5, 0);
	assert_string_equal(s, "brief");
	free(s);
}

static void test_limited_items_are_counted_not_cached(void **state)
{
	struct fx *f = *state;
	lks_item it;
	char *s;

	put(f, &it, "twice", 2, 60);
	for (int i = 0; i < 2; i++) {
		s = read_str(f, it.id, NOW, LKS_STORE_COUNT);
		assert_string_equal(s, "twice");
		free(s);
	}
	assert_null(read_str(f, it.id, NOW, LKS_STORE_COUNT));
}

static void test_large_items_bypass(void **state)
{
	struct fx *f = *state;
	static char big[100000];
	lks_item it;
	char *s;

	memset(big, 'b', sizeof(big) - 1);
	put(f, &it, big, LKS_READS_UNLIMITED, 60);
	s = read_str(f, it.id, NOW, 0);
	assert_int_equal(strlen(s), sizeof(big) - 1);
	free(s);
	poke(f, it.id, "small now");
	s = read_str(f, it.id, NOW, 0);
	assert_string_equal(s, "small now"); /* not cached: read from the database */
	free(s);
}

struct reader {
	struct fx *f;
	const char *id;
	volatile int stop;
};

static void *read_loop(void *arg)
{
	struct reader *r = arg;

	while (!r->stop)
		free(read_str(r->f, r->id, NOW, 0));
	return NULL;
}

/* Readers that fetched the old version while it was being replaced must not
 * put it back into the cache: after each update or delete returns, the next
 * read sees it. (Without the slot generations this failed within a few
 * hundred rounds.) */
static void test_writes_racing_readers(void **state)
{
	struct fx *f = *state;
	struct reader r[4];
	pthread_t t[4];
	lks_item it, ch;
	char want[32];
	char *s;
	int stale = 0;

	put(f, &it, "v0", LKS_READS_UNLIMITED, 600);
	for (int i = 0; i < 4; i++) {
		r[i] = (struct reader){f, it.id, 0};
		assert_int_equal(pthread_create(&t[i], NULL, read_loop, &r[i]), 0);
	}
	memset(&ch, 0, sizeof(ch));
	ch.type = "text/plain; charset=utf-8";
	for (int round = 1; round <= 300; round++) {
		snprintf(want, sizeof(want), "v%d", round);
		lks_sha256(ch.content_hash, want, strlen(want));
		assert_int_equal(lks_store_update(f->store, NULL, it.id, &ch, want, strlen(want), NOW),
				 0);
		s = read_str(f, it.id, NOW, 0);
		stale += s == NULL || strcmp(s, want) != 0;
		free(s);
	}
	assert_int_equal(lks_store_delete(f->store, it.id), 0);
	for (int k = 0; k < 50; k++) {
		s = read_str(f, it.id, NOW, 0);
		stale += s != NULL;
		free(s);
	}
	for (int i = 0; i < 4; i++) {
		r[i].stop = 1;
		pthread_join(t[i], NULL);
	}
	assert_int_equal(stale, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_and_invalidation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_get_fills_the_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_applies_to_cached_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limited_items_are_counted_not_cached, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_items_bypass, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writes_racing_readers, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
