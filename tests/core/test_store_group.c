/* Group commit: many puts queued at once all become durable, each hears its
 * own result (a duplicate id in a batch fails alone), and freeing the store
 * finishes what is queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "linksync/error.h"
#include "linksync/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N 300

struct waiter {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, failed;
};

static struct waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void on_done(lks_store_put_job *job)
{
	pthread_mutex_lock(&w.lock);
	w.done++;
	if (job->rc < 0) {
		w.failed++;
		assert_true(strlen(job->message) > 0);
	}
	pthread_cond_signal(&w.cond);
	pthread_mutex_unlock(&w.lock);
}

static void make(lks_item *it, const char *id)
{
	memset(it, 0, sizeof(*it));
	if (id != NULL)
		snprintf(it->id, sizeof(it->id), "%s", id);
	else
		assert_int_equal(lks_id_new(it->id), 0);
	it->type = "text/plain; charset=utf-8";
	it->created_at = it->updated_at = 1000;
	it->expires_at = 4000000000LL;
	it->version = 1;
	it->reads_left = LKS_READS_UNLIMITED;
}

static void run(const char *url_fmt, const lks_store_options *opts)
{
	char dir[] = "/tmp/lks-group-XXXXXX", url[160], cmd[128];
	static lks_item items[N];
	static lks_store_put_job jobs[N];
	lks_store *store = NULL;
	int64_t count = 0;

	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), url_fmt, dir);
	assert_int_equal(lks_store_open(&store, url, opts), 0);
	w.done = w.failed = 0;
	for (int i = 0; i < N; i++) {
		/* Item 7 reuses item 3's id: it alone must fail. */
		make(&items[i], i == 7 ? items[3].id : NULL);
		jobs[i] = (lks_store_put_job){.item = &items[i], .content = "payload", .len = 7,
					      .done = on_done};
		assert_int_equal(lks_store_put_async(store, &jobs[i]), 0);
	}
	pthread_mutex_lock(&w.lock);
	while (w.done < N)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	assert_int_equal(w.failed, 1);
	assert_true(jobs[7].rc < 0);
	assert_int_equal(jobs[3].rc, 0);
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, N - 1);
	/* Queued and not yet committed when the store is freed: still stored. */
	w.done = w.failed = 0;
	for (int i = 0; i < 20; i++) {
		make(&items[i], NULL);
		jobs[i] = (lks_store_put_job){.item = &items[i], .content = "late", .len = 4,
					      .done = on_done};
		assert_int_equal(lks_store_put_async(store, &jobs[i]), 0);
	}
	lks_store_free(store);
	assert_int_equal(w.done, 20);
	assert_int_equal(w.failed, 0);
	assert_int_equal(lks_store_open(&store, url, opts), 0);
	assert_int_equal(lks_store_count(store, &count), 0);
	assert_int_equal(count, N - 1 + 20);
	lks_store_free(store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void test_sqlite(void **state)
{
	run("sqlite:%s/g.db", NULL);
}

static void test_sqlite_cached_and_full_sync(void **state)
{
	lks_store_options o = {.sync_full = 1, .cache_bytes = 1 << 20};

	run("sqlite:%s/g.db", &o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sqlite),
		cmocka_unit_test(test_sqlite_cached_and_full_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
