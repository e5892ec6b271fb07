/* The behaviour every lks_store backend shares, as cmocka tests: put and read
 * back (empty, binary, 10 MiB), expiry, counted reads raced by threads and
 * through two handles on one store (two "nodes"), update and delete seen
 * across handles, group commit (a bad put fails alone), sweeping in batches
 * and from two nodes at once, reopening,
 * nodes starting at once, and refusing a newer schema.
 *
 * A test file includes this once, then defines the hooks below and its setup
 * and teardown (which fill a struct fixture whose store is open on url), and
 * lists STORE_CONTRACT_TESTS(setup, teardown) in its main. */
#ifndef LKS_TEST_STORE_CONTRACT_H
#define LKS_TEST_STORE_CONTRACT_H

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

#define NOW 1800000000

struct fixture {
	char url[1024];
	lks_store *store;
	int skip;      /* the backend is not available on this machine */
	int eventual;  /* the store caches: another node's change shows after its notification */
	void *backend; /* the test file's own state */
};

/* Hooks of the including file. */
/* The backend's name, as lks_store_backend gives it. */
static const char *contract_backend(void);
/* Marks the store at f->url as written by a future schema version. */
static void contract_set_schema_version(struct fixture *f, int version);
/* A URL for a new, empty store (cleaned up by teardown). */
static void contract_fresh_url(struct fixture *f, char *url, size_t size);

/* The fixture, or a skip when the backend is not available. */
static struct fixture *fixture(void **state)
{
	struct fixture *f = *state;

	if (f->skip)
		skip();
	return f;
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
	struct fixture *f = fixture(state);
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
	assert_int_equal(got->kind, LKS_KIND_NOTE);
	assert_int_equal(got->size, 5);
	assert_int_equal(got->created_at, NOW);
	assert_int_equal(got->updated_at, NOW);
	assert_int_equal(got->expires_at, NOW + 3600);
	assert_int_equal(got->version, 1);
	assert_memory_equal(got->token_hash, it.token_hash, LKS_HASH_BYTES);
	assert_memory_equal(got->content_hash, it.content_hash, LKS_HASH_BYTES);
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
	/* Names and summaries are UTF-8 and come back as they went in. */
	make_item(&it, "x", 1, 60, LKS_READS_UNLIMITED);
	it.name = "r\xc3\xa9union \xe2\x80\x94 \xf0\x9f\x93\x85.ics";
	it.summary = "Caf\xc3\xa9 at 10";
	it.kind = LKS_KIND_CALENDAR;
	assert_int_equal(lks_store_put(f->store, &it, "x", 1), 0);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), 0);
	assert_string_equal(got->name, it.name);
	assert_string_equal(got->summary, it.summary);
	assert_int_equal(got->kind, LKS_KIND_CALENDAR);
	lks_item_free(got);
}

static void test_empty_and_binary_content(void **state)
{
	struct fixture *f = fixture(state);
	lks_item it, *got = NULL;
	unsigned char bin[70000];
	size_t big_len = (size_t)10 << 20;
	unsigned char *big = malloc(big_len);
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

	/* 10 MiB of every byte value, read with a counted read. */
	assert_non_null(big);
	assert_int_equal(lks_random(big, big_len), 0);
	memset(big + 1000, 0, 4096);
	make_item(&it, (char *)big, big_len, 60, 2);
	assert_int_equal(lks_store_put(f->store, &it, big, big_len), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT), 0);
	assert_int_equal(len, big_len);
	assert_int_equal(got->size, (int64_t)big_len);
	assert_int_equal(got->reads_left, 1);
	assert_true(memcmp(content, big, big_len) == 0);
	lks_item_free(got);
	free(content);
	free(big);
}

static void test_expired_is_never_served(void **state)
{
	struct fixture *f = fixture(state);
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
	/* Nor consumed: a counted read of an expired limited item finds nothing. */
	make_item(&it, "y", 1, 10, 1);
	assert_int_equal(lks_store_put(f->store, &it, "y", 1), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 10,
					LKS_STORE_COUNT),
			 LKS_ENOTFOUND);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW + 9), 0);
	assert_int_equal(got->reads_left, 1);
	lks_item_free(got);
}

static void test_counted_reads(void **state)
{
	struct fixture *f = fixture(state);
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
	if (r->errors)
		fprintf(stderr, "race: %s: %s\n", lks_error_name(rc), lks_error_message());
	lks_item_free(it);
	free(content);
	return NULL;
}

/* Races n readers for an item with `reads` reads, readers alternating over
 * the stores; returns how many got it. */
static int race_reads(lks_store **stores, int nstores, int reads)
{
	enum { N = 32 };
	pthread_t t[N];
	struct racer r[N];
	lks_item it;
	int winners = 0;

	make_item(&it, "once", 4, 60, reads);
	assert_int_equal(lks_store_put(stores[0], &it, "once", 4), 0);
	for (int i = 0; i < N; i++) {
		r[i] = (struct racer){stores[i % nstores], it.id, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		winners += r[i].got;
		assert_int_equal(r[i].errors, 0);
	}
	return winners;
}

static void test_last_read_raced_by_many_threads(void **state)
{
	struct fixture *f = fixture(state);

	for (int round = 0; round < 5; round++)
		assert_int_equal(race_reads(&f->store, 1, 1), 1);
}

/* Two handles on one store are two linksyncd nodes behind a load balancer. */
static void test_reads_raced_through_two_nodes(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *nodes[2] = {f->store, NULL};
	int64_t count;

	assert_int_equal(lks_store_open(&nodes[1], f->url, NULL), 0);
	for (int round = 0; round < 4; round++) {
		/* The last read goes to exactly one reader; with three reads,
		 * exactly three readers get one (none is lost to the race). */
		assert_int_equal(race_reads(nodes, 2, 1), 1);
		assert_int_equal(race_reads(nodes, 2, 3), 3);
	}
	assert_int_equal(lks_store_count(nodes[1], &count), 0);
	assert_int_equal(count, 0);
	lks_store_free(nodes[1]);
}

static void test_update_and_delete(void **state)
{
	struct fixture *f = fixture(state);
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
	assert_memory_equal(got->content_hash, ch.content_hash, LKS_HASH_BYTES);
	assert_memory_equal(got->token_hash, it.token_hash, LKS_HASH_BYTES);
	lks_item_etag(got, e2, sizeof(e2));
	assert_string_not_equal(e1, e2);
	lks_item_free(got);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 6, 0), 0);
	assert_int_equal(len, 11);
	assert_memory_equal(content, "version two", 11);
	lks_item_free(got);
	free(content);
	/* An update may empty the content and drop the name. */
	ch.name = NULL;
	ch.summary = NULL;
	assert_int_equal(lks_store_update(f->store, NULL, it.id, &ch, NULL, 0, NOW + 7), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 7, 0), 0);
	assert_int_equal(len, 0);
	assert_non_null(content);
	assert_null(got->name);
	assert_int_equal(got->version, 3);
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

/* Group commit (lks_store_put_async): puts queued together are committed
 * together (one transaction), and one bad put in a batch (an id already
 * taken) fails alone while the others are stored. */
struct async_put {
	lks_store_put_job job;
	lks_item it;
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	int *done;
};

static void async_done(lks_store_put_job *job)
{
	struct async_put *a = job->ctx;

	pthread_mutex_lock(a->lock);
	(*a->done)++;
	pthread_cond_signal(a->cond);
	pthread_mutex_unlock(a->lock);
}

static void test_group_commit(void **state)
{
	struct fixture *f = fixture(state);
	enum { N = 200 };
	struct async_put *a = calloc(N, sizeof(*a));
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
	lks_item *got = NULL;
	int done = 0, failed = 0;
	int64_t count;

	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < N; i++) {
			make_item(&a[i].it, "queued", 6, 60, LKS_READS_UNLIMITED);
			/* In the second round one put repeats the id of another. */
			if (round == 1 && i == N / 2)
				memcpy(a[i].it.id, a[0].it.id, sizeof(a[i].it.id));
			a[i].lock = &lock;
			a[i].cond = &cond;
			a[i].done = &done;
			a[i].job = (lks_store_put_job){.item = &a[i].it, .content = "queued", .len = 6,
						       .done = async_done, .ctx = &a[i]};
		}
		pthread_mutex_lock(&lock);
		done = 0;
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < N; i++)
			assert_int_equal(lks_store_put_async(f->store, &a[i].job), 0);
		pthread_mutex_lock(&lock);
		while (done < N)
			pthread_cond_wait(&cond, &lock);
		pthread_mutex_unlock(&lock);
		for (int i = 0; i < N; i++) {
			if (a[i].job.rc != 0) {
				failed++;
				assert_int_equal(a[i].job.rc, LKS_ESTORE);
				continue;
			}
			assert_int_equal(lks_store_get(f->store, &got, a[i].it.id, NOW), 0);
			lks_item_free(got);
		}
		if (round == 0)
			assert_int_equal(failed, 0);
	}
	assert_int_equal(failed, 1);
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, 2 * N - 1);
	free(a);
}

static void test_update_seen_through_other_node(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *other = NULL;
	lks_item it, ch, *got = NULL;
	void *content = NULL;
	size_t len;

	assert_int_equal(lks_store_open(&other, f->url, NULL), 0);
	make_item(&it, "v1", 2, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	/* Created through one node, read through the other. */
	assert_int_equal(lks_store_read(other, &got, &content, &len, it.id, NOW, 0), 0);
	assert_memory_equal(content, "v1", 2);
	lks_item_free(got);
	free(content);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), 0);
	lks_item_free(got);
	free(content);
	/* Changed through the other: at once, or (a cache) within 3 s. */
	make_item(&ch, "v2", 2, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_update(other, NULL, it.id, &ch, "v2", 2, NOW + 1), 0);
	for (int tries = f->eventual ? 3000 : 1;; tries--) {
		assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 1, 0), 0);
		if (got->version == 2 || tries <= 1)
			break;
		lks_item_free(got);
		free(content);
		usleep(1000);
	}
	assert_memory_equal(content, "v2", 2);
	assert_int_equal(got->version, 2);
	lks_item_free(got);
	free(content);
	assert_int_equal(lks_store_delete(other, it.id), 0);
	for (int tries = f->eventual ? 3000 : 1;
	     tries > 1 && lks_store_get(f->store, &got, it.id, NOW + 1) == 0; tries--) {
		lks_item_free(got);
		got = NULL;
		usleep(1000);
	}
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW + 1), LKS_ENOTFOUND);
	assert_int_equal(lks_store_delete(f->store, it.id), LKS_ENOTFOUND);
	lks_store_free(other);
}

static void test_sweep_in_batches(void **state)
{
	struct fixture *f = fixture(state);
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

struct sweeper {
	lks_store *store;
	unsigned total;
	int errors;
};

static void *sweep_all(void *arg)
{
	struct sweeper *w = arg;
	unsigned purged;

	do {
		if (lks_store_sweep(w->store, &purged, NOW + 10, 7) < 0) {
			w->errors++;
			return NULL;
		}
		w->total += purged;
	} while (purged == 7);
	return NULL;
}

static void test_concurrent_sweeps_from_two_nodes(void **state)
{
	struct fixture *f = fixture(state);
	enum { EXPIRED = 300, LIVE = 10 };
	struct sweeper w[4];
	pthread_t t[4];
	lks_store *other = NULL;
	lks_item it;
	unsigned purged = 99;
	int64_t count;

	assert_int_equal(lks_store_open(&other, f->url, NULL), 0);
	for (int i = 0; i < EXPIRED + LIVE; i++) {
		make_item(&it, "e", 1, i < EXPIRED ? 5 : 500, LKS_READS_UNLIMITED);
		assert_int_equal(lks_store_put(f->store, &it, "e", 1), 0);
	}
	/* Two sweepers per node: every row is purged once and counted once. */
	for (int i = 0; i < 4; i++) {
		w[i] = (struct sweeper){i % 2 ? other : f->store, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, sweep_all, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(w[0].errors + w[1].errors + w[2].errors + w[3].errors, 0);
	assert_int_equal(w[0].total + w[1].total + w[2].total + w[3].total, EXPIRED);
	assert_int_equal(lks_store_sweep(other, &purged, NOW + 10, 7), 0);
	assert_int_equal(purged, 0);
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, LIVE);
	lks_store_free(other);
}

static void test_reopen_keeps_items(void **state)
{
	struct fixture *f = fixture(state);
	lks_item it, *got = NULL;
	lks_store_options full = {.sync_full = 1};

	make_item(&it, "keep", 4, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "keep", 4), 0);
	lks_store_free(f->store);
	assert_int_equal(lks_store_open(&f->store, f->url, NULL), 0);
	assert_string_equal(lks_store_backend(f->store), contract_backend());
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), 0);
	lks_item_free(got);
	lks_store_free(f->store);
	assert_int_equal(lks_store_open(&f->store, f->url, &full), 0);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), 0);
	lks_item_free(got);
}

struct opener {
	const char *url;
	lks_store *store;
	int rc;
};

static void *open_store(void *arg)
{
	struct opener *o = arg;

	o->rc = lks_store_open(&o->store, o->url, NULL);
	if (o->rc < 0)
		fprintf(stderr, "open: %s\n", lks_error_message());
	return NULL;
}

/* Nodes starting at once on an empty store create the schema once. */
static void test_nodes_start_at_once(void **state)
{
	struct fixture *f = fixture(state);
	enum { N = 6 };
	char url[sizeof(f->url)];
	struct opener o[N];
	pthread_t t[N];
	lks_item it, *got = NULL;

	contract_fresh_url(f, url, sizeof(url));
	for (int i = 0; i < N; i++) {
		o[i] = (struct opener){url, NULL, 0};
		assert_int_equal(pthread_create(&t[i], NULL, open_store, &o[i]), 0);
	}
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < N; i++)
		assert_int_equal(o[i].rc, 0);
	make_item(&it, "x", 1, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(o[0].store, &it, "x", 1), 0);
	assert_int_equal(lks_store_get(o[N - 1].store, &got, it.id, NOW), 0);
	lks_item_free(got);
	for (int i = 0; i < N; i++)
		lks_store_free(o[i].store);
}

static void test_refuses_newer_schema(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *other = NULL;

	contract_set_schema_version(f, 99);
	assert_int_equal(lks_store_open(&other, f->url, NULL), LKS_ESTORE);
	assert_non_null(strstr(lks_error_message(), "newer"));
	assert_null(other);
	assert_int_equal(lks_store_open(&other, "mysql://x", NULL), LKS_EINVAL);
	assert_null(other);
}

#define STORE_CONTRACT_TESTS(setup, teardown)                                                 \
	cmocka_unit_test_setup_teardown(test_put_get_read, setup, teardown),                   \
	cmocka_unit_test_setup_teardown(test_empty_and_binary_content, setup, teardown),       \
	cmocka_unit_test_setup_teardown(test_expired_is_never_served, setup, teardown),        \
	cmocka_unit_test_setup_teardown(test_counted_reads, setup, teardown),                  \
	cmocka_unit_test_setup_teardown(test_last_read_raced_by_many_threads, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_reads_raced_through_two_nodes, setup, teardown),  \
	cmocka_unit_test_setup_teardown(test_update_and_delete, setup, teardown),              \
	cmocka_unit_test_setup_teardown(test_update_seen_through_other_node, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),                   \
	cmocka_unit_test_setup_teardown(test_sweep_in_batches, setup, teardown),               \
	cmocka_unit_test_setup_teardown(test_concurrent_sweeps_from_two_nodes, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_reopen_keeps_items, setup, teardown),             \
	cmocka_unit_test_setup_teardown(test_nodes_start_at_once, setup, teardown),            \
	cmocka_unit_test_setup_teardown(test_refuses_newer_schema, setup, teardown)

#endif
