/* lks_store_watch: change notifications between nodes of one store. On
 * PostgreSQL a watched store hears updates, deletions and last reads made
 * through another handle (another node) and through itself, with the new
 * version (0 when gone); not puts, not failed changes, not changes in
 * another schema of the same database; it says when its connection was cut
 * (id NULL, version -1) and when it is back (id NULL, version 0), and hears
 * changes again afterwards; a second watch is refused,
 * and unwatching or freeing the store stops it. On SQLite a watch is a
 * successful no-op.
 *
 * The cluster: env LKS_PG_URL, or else a throwaway one from scripts/pg.sh
 * (stopped at the end); without PostgreSQL the PostgreSQL tests skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/id.h"
#include "linksync/store.h"

#include "pg_cluster.h"

#include <errno.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOW 1800000000
#define MAX_EVENTS 64

/* What the callback heard, in order. */
struct events {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int n;
	char id[MAX_EVENTS][LKS_ID_LEN + 1]; /* "" for a NULL id */
	int64_t version[MAX_EVENTS];
};

static void on_change(void *ctx, const char *id, int64_t version)
{
	struct events *ev = ctx;

	pthread_mutex_lock(&ev->lock);
	if (ev->n < MAX_EVENTS) {
		snprintf(ev->id[ev->n], sizeof(ev->id[0]), "%s", id ? id : "");
		ev->version[ev->n] = version;
		ev->n++;
	}
	pthread_cond_broadcast(&ev->cond);
	pthread_mutex_unlock(&ev->lock);
}

static void events_init(struct events *ev)
{
	memset(ev, 0, sizeof(*ev));
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cond, NULL);
}

static void events_destroy(struct events *ev)
{
	pthread_cond_destroy(&ev->cond);
	pthread_mutex_destroy(&ev->lock);
}

/* Waits (at most seconds) until at least n events were heard; returns how
 * many there are. */
static int events_wait(struct events *ev, int n, int seconds)
{
	struct timespec until;
	int have;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += seconds;
	pthread_mutex_lock(&ev->lock);
	while (ev->n < n && pthread_cond_timedwait(&ev->cond, &ev->lock, &until) != ETIMEDOUT)
		;
	have = ev->n;
	pthread_mutex_unlock(&ev->lock);
	return have;
}

static void make_item(lks_item *it, const char *content, int64_t reads)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(lks_id_new(it->id), 0);
	it->kind = LKS_KIND_NOTE;
	it->type = "text/plain; charset=utf-8";
	it->created_at = it->updated_at = NOW;
	it->expires_at = NOW + 3600;
	it->version = 1;
	it->reads_left = reads;
	it->size = (int64_t)strlen(content);
	lks_token_hash(it->token_hash, "token", 5);
	lks_sha256(it->content_hash, content, strlen(content));
}

static void update(lks_store *s, const char *id, const char *content, int want)
{
	lks_item ch;

	make_item(&ch, content, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_update(s, NULL, id, &ch, content, strlen(content), NOW + 1),
			 want);
}

/* ------------------------------------------------------------------------ */
/* The cluster and a schema per store */

static int group_setup(void **state)
{
	(void)state;
	return pg_cluster_start("test_store_watch");
}

static int group_teardown(void **state)
{
	(void)state;
	return pg_cluster_stop();
}

struct fixture {
	char schema[2][48];
	char url[2][800]; /* a store URL for each schema */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (pg.skip != NULL)
		return 0;
	for (int i = 0; i < 2; i++)
		pg_new_schema(f->schema[i], sizeof(f->schema[i]), f->url[i], sizeof(f->url[i]));
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	for (int i = 0; i < 2 && pg.skip == NULL; i++)
		pg_admin("DROP SCHEMA %s CASCADE", f->schema[i]);
	free(f);
	return 0;
}

static struct fixture *fixture(void **state)
{
	if (pg.skip != NULL)
		skip();
	return *state;
}

static lks_store *open_store(const char *url)
{
	lks_store *s = NULL;

	if (lks_store_open(&s, url, NULL) < 0)
		fail_msg("open %s: %s", url, lks_error_message());
	return s;
}

/* ------------------------------------------------------------------------ */

static void test_sqlite_watch_is_a_noop(void **state)
{
	char dir[] = "/tmp/lks-watch-XXXXXX", url[128], path[100];
	lks_store_options opts = {.cache_bytes = 1 << 20};
	lks_store *s = NULL;
	struct events ev;
	lks_item it;

	(void)state;
	events_init(&ev);
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "sqlite:%s/watch.db", dir);
	/* With and without the cache in front. */
	for (int cached = 0; cached < 2; cached++) {
		opts.cache_bytes = cached ? 1 << 20 : 0;
		assert_int_equal(lks_store_open(&s, url, &opts), 0);
		assert_int_equal(lks_store_watch(s, on_change, &ev), 0);
		make_item(&it, "v1", LKS_READS_UNLIMITED);
		assert_int_equal(lks_store_put(s, &it, "v1", 2), 0);
		update(s, it.id, "v2", 0);
		assert_int_equal(lks_store_delete(s, it.id), 0);
		lks_store_unwatch(s);
		lks_store_unwatch(s);
		lks_store_free(s);
	}
	assert_int_equal(events_wait(&ev, 1, 0), 0);
	lks_store_unwatch(NULL);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	assert_int_equal(system(path), 0);
	events_destroy(&ev);
}

static void test_hears_other_nodes(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *a = open_store(f->url[0]), *b = open_store(f->url[0]);
	lks_item it, once, *got = NULL;
	void *content = NULL;
	size_t len = 0;
	struct events ev;

	events_init(&ev);
	assert_int_equal(lks_store_watch(a, on_change, &ev), 0);
	make_item(&it, "v1", LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(b, &it, "v1", 2), 0);
	/* An update through b: a hears the id and the new version. */
	update(b, it.id, "v2", 0);
	assert_int_equal(events_wait(&ev, 1, 5), 1);
	assert_string_equal(ev.id[0], it.id);
	assert_int_equal(ev.version[0], 2);
	update(b, it.id, "v3", 0);
	assert_int_equal(events_wait(&ev, 2, 5), 2);
	assert_int_equal(ev.version[1], 3);
	/* Its own changes too. */
	update(a, it.id, "v4", 0);
	assert_int_equal(events_wait(&ev, 3, 5), 3);
	assert_int_equal(ev.version[2], 4);
	/* A deletion is version 0. */
	assert_int_equal(lks_store_delete(b, it.id), 0);
	assert_int_equal(events_wait(&ev, 4, 5), 4);
	assert_string_equal(ev.id[3], it.id);
	assert_int_equal(ev.version[3], 0);
	/* Failed changes say nothing: then the last read of another item, taken
	 * through b, is the next thing a hears (its put said nothing either). */
	update(b, it.id, "v5", LKS_ENOTFOUND);
	assert_int_equal(lks_store_delete(b, it.id), LKS_ENOTFOUND);
	make_item(&once, "once", 2);
	assert_int_equal(lks_store_put(b, &once, "once", 4), 0);
	assert_int_equal(lks_store_read(b, &got, &content, &len, once.id, NOW, LKS_STORE_COUNT), 0);
	lks_item_free(got);
	free(content);
	assert_int_equal(events_wait(&ev, 5, 1), 4); /* one read of two is no change */
	assert_int_equal(lks_store_read(b, &got, &content, &len, once.id, NOW, LKS_STORE_COUNT), 0);
	lks_item_free(got);
	free(content);
	assert_int_equal(events_wait(&ev, 5, 5), 5);
	assert_string_equal(ev.id[4], once.id);
	assert_int_equal(ev.version[4], 0);
	assert_int_equal(events_wait(&ev, 6, 1), 5);
	lks_store_unwatch(a);
	lks_store_free(a);
	lks_store_free(b);
	events_destroy(&ev);
}

static void test_other_schema_is_not_heard(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *a = open_store(f->url[0]), *other = open_store(f->url[1]);
	struct events ev;
	lks_item it;

	events_init(&ev);
	assert_int_equal(lks_store_watch(a, on_change, &ev), 0);
	/* The same id in both schemas: only a's schema is a's business. */
	make_item(&it, "v1", LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(other, &it, "v1", 2), 0);
	assert_int_equal(lks_store_put(a, &it, "v1", 2), 0);
	update(other, it.id, "elsewhere", 0);
	assert_int_equal(lks_store_delete(other, it.id), 0);
	update(a, it.id, "here", 0);
	assert_int_equal(events_wait(&ev, 1, 5), 1);
	assert_int_equal(ev.version[0], 2);
	assert_int_equal(events_wait(&ev, 2, 1), 1);
	lks_store_unwatch(a);
	lks_store_free(a);
	lks_store_free(other);
	events_destroy(&ev);
}

static void test_one_watch_at_a_time(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *a = open_store(f->url[0]);
	struct events ev;

	events_init(&ev);
	assert_int_equal(lks_store_watch(a, on_change, &ev), 0);
	assert_int_equal(lks_store_watch(a, on_change, &ev), LKS_EINVAL);
	lks_store_unwatch(a);
	lks_store_unwatch(a);
	/* Watching again after an unwatch works. */
	assert_int_equal(lks_store_watch(a, on_change, &ev), 0);
	assert_int_equal(lks_store_watch(a, NULL, NULL), LKS_EINVAL);
	/* Freeing a watched store stops the watch (the sanitizer build checks
	 * that nothing leaks and no thread outlives it). */
	lks_store_free(a);
	events_destroy(&ev);
}

static void test_reconnects_after_a_cut(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *a = open_store(f->url[0]), *b = open_store(f->url[0]);
	struct events ev;
	lks_item it;
	long cut;

	events_init(&ev);
	assert_int_equal(lks_store_watch(a, on_change, &ev), 0);
	make_item(&it, "v1", LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(b, &it, "v1", 2), 0);
	/* The listening connection is the one that never touched the items. */
	cut = pg_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
		    "WHERE application_name = '%s' AND query NOT LIKE '%%items%%'",
		    f->schema[0]);
	assert_int_equal(cut, 1);
	/* The watch says it was cut off, then that it listens again... */
	assert_int_equal(events_wait(&ev, 2, 10), 2);
	assert_string_equal(ev.id[0], "");
	assert_int_equal(ev.version[0], -1);
	assert_string_equal(ev.id[1], "");
	assert_int_equal(ev.version[1], 0);
	/* ...and hears changes as before. */
	update(b, it.id, "v2", 0);
	assert_int_equal(events_wait(&ev, 3, 5), 3);
	assert_string_equal(ev.id[2], it.id);
	assert_int_equal(ev.version[2], 2);
	lks_store_free(a);
	lks_store_free(b);
	events_destroy(&ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlite_watch_is_a_noop),
		cmocka_unit_test_setup_teardown(test_hears_other_nodes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_schema_is_not_heard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_watch_at_a_time, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnects_after_a_cut, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
