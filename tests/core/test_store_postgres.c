/* The PostgreSQL store: the shared store contract (store_contract.h), each
 * test in a schema of its own, then what only PostgreSQL has: URLs and their
 * errors (never quoting the password), the connect timeout, the pool size,
 * reconnecting after the server drops connections, 26 MiB content, and
 * used-up rows left behind by a crashed node. Then the read cache in front
 * of it: the contract again through it, and that it serves from memory but
 * drops a copy when any node changes the item, while its watch is cut off,
 * and once the copy is older than its maximum age.
 *
 * The cluster: env LKS_PG_URL, or else a throwaway one started with
 * scripts/pg.sh (from env LKS_SRC) and stopped at the end. Without PostgreSQL
 * installed every test is skipped. */
#include "store_contract.h"
#include "pg_cluster.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

struct pg_fixture {
	char schema[4][48]; /* the test's schemas: its store's, then fresh ones */
	int nschemas;
};

static int group_setup(void **state)
{
	(void)state;
	return pg_cluster_start("test_store_postgres");
}

static int group_teardown(void **state)
{
	(void)state;
	return pg_cluster_stop();
}

/* A new schema of the test's, and a store URL that uses it. */
static void new_schema(struct fixture *f, char *url, size_t size)
{
	struct pg_fixture *pf = f->backend;

	assert_true(pf->nschemas < 4);
	pg_new_schema(pf->schema[pf->nschemas++], sizeof(pf->schema[0]), url, size);
}

static const char *contract_backend(void)
{
	return "postgres";
}

static void contract_set_schema_version(struct fixture *f, int version)
{
	struct pg_fixture *pf = f->backend;

	pg_admin("UPDATE %s.schema_version SET version = %d", pf->schema[0], version);
}

static void contract_fresh_url(struct fixture *f, char *url, size_t size)
{
	new_schema(f, url, size);
}

/* A store in a schema of its own, opened with opts. */
static int setup_with(void **state, const lks_store_options *opts)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (pg.skip != NULL) {
		f->skip = 1;
		return 0;
	}
	f->backend = calloc(1, sizeof(struct pg_fixture));
	f->eventual = opts != NULL && opts->cache_bytes > 0;
	new_schema(f, f->url, sizeof(f->url));
	if (lks_store_open(&f->store, f->url, opts) < 0)
		fail_msg("open %s: %s", f->url, lks_error_message());
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, NULL);
}

/* The same store behind a read cache, as linksyncd opens it by default. */
static int setup_cached(void **state)
{
	lks_store_options o = {.cache_bytes = 1 << 20};

	return setup_with(state, &o);
}

/* The cache with a short maximum age, to see it expire. */
static int setup_cached_short(void **state)
{
	lks_store_options o = {.cache_bytes = 1 << 20, .cache_max_age_ms = 300};

	return setup_with(state, &o);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct pg_fixture *pf = f->backend;

	lks_store_free(f->store);
	for (int i = 0; pf != NULL && i < pf->nschemas; i++)
		pg_admin("DROP SCHEMA %s CASCADE", pf->schema[i]);
	free(pf);
	free(f);
	return 0;
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Opening url fails with code, quickly, and the message names what it tried
 * but never the password. */
static void open_fails(const char *url, int code, const char *mentions, double within)
{
	lks_store *s = NULL;
	double t0 = seconds();

	assert_int_equal(lks_store_open(&s, url, NULL), code);
	assert_null(s);
	assert_true(seconds() - t0 < within);
	if (strstr(lks_error_message(), "s3cret") != NULL)
		fail_msg("the message quotes the password: %s", lks_error_message());
	if (mentions != NULL && strstr(lks_error_message(), mentions) == NULL)
		fail_msg("'%s' does not mention '%s'", lks_error_message(), mentions);
}

static void test_bad_urls(void **state)
{
	fixture(state);
	open_fails("postgres://u:s3cret@[::1/db", LKS_EINVAL, "IPv6", 1);
	open_fails("postgres:///db?bogus=1&password=s3cret", LKS_EINVAL, "bogus", 1);
	open_fails("postgres:///db?pool=0", LKS_EINVAL, "pool", 1);
	open_fails("postgres:///db?pool=65", LKS_EINVAL, "pool", 1);
	open_fails("postgres:///db?pool=4x", LKS_EINVAL, "pool", 1);
	open_fails("postgres:///db?pool=&user=x", LKS_EINVAL, "give 1 to", 1);
	open_fails("postgres://u:s3cret%zz@localhost/db", LKS_EINVAL, "percent", 1);
	/* Nothing listens: refused at once, naming the host and the database. */
	open_fails("postgres://u:s3cret@127.0.0.1:1/nodb", LKS_ESTORE, "127.0.0.1", 3);
	assert_non_null(strstr(lks_error_message(), "nodb"));
	open_fails("postgresql://127.0.0.1:1/nodb?user=u&password=s3cr%65t", LKS_ESTORE, "nodb", 3);
	open_fails("postgres:///nodb?host=/nonexistent/dir", LKS_ESTORE, "/nonexistent/dir", 3);
	/* A database that does not exist on the running cluster. */
	{
		char url[700];

		snprintf(url, sizeof(url), "%s%sdbname=no_such_db", pg.url,
			 strchr(pg.url, '?') ? "&" : "?");
		open_fails(url, LKS_ESTORE, "no_such_db", 3);
	}
}

/* A server that accepts the TCP connection and never answers: the default
 * or given connect_timeout ends the wait. */
static void test_connect_timeout(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t salen = sizeof(sa);
	char url[200];
	int fd;

	fixture(state);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &salen), 0);
	snprintf(url, sizeof(url), "postgres://u:s3cret@127.0.0.1:%d/db?connect_timeout=2",
		 ntohs(sa.sin_port));
	open_fails(url, LKS_ESTORE, "timeout", 5);
	/* linksync's own default (5 s) when the URL gives none. */
	snprintf(url, sizeof(url), "postgres://u:s3cret@127.0.0.1:%d/db", ntohs(sa.sin_port));
	open_fails(url, LKS_ESTORE, "timeout", 8);
	close(fd);
}

static void test_schema(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	lks_store *again = NULL;

	assert_int_equal(pg_admin("SELECT count(*) FROM %s.schema_version", pf->schema[0]), 1);
	assert_int_equal(pg_admin("SELECT version FROM %s.schema_version", pf->schema[0]), 2);
	/* Opening again changes nothing. */
	assert_int_equal(lks_store_open(&again, f->url, NULL), 0);
	lks_store_free(again);
	assert_int_equal(pg_admin("SELECT count(*) FROM %s.schema_version", pf->schema[0]), 1);
	assert_int_equal(pg_admin("SELECT count(*) FROM pg_indexes WHERE schemaname = '%s' "
			       "AND tablename = 'items'",
			       pf->schema[0]),
			 3);
}

struct worker {
	lks_store *store;
	const char *id;
	int errors;
};

static void *read_many(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 40; i++) {
		lks_item *it = NULL;
		void *content = NULL;
		size_t len;

		if (lks_store_read(w->store, &it, &content, &len, w->id, NOW, LKS_STORE_COUNT) != 0)
			w->errors++;
		lks_item_free(it);
		free(content);
	}
	return NULL;
}

/* pool=2: sixteen busy threads share two connections. */
static void test_pool_size(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	enum { N = 16 };
	char url[sizeof(f->url) + 16];
	pthread_t t[N];
	struct worker w[N];
	lks_store *s = NULL;
	lks_item it;
	long most = 0;

	snprintf(url, sizeof(url), "%s&pool=2", f->url);
	assert_int_equal(lks_store_open(&s, url, NULL), 0);
	make_item(&it, "shared", 6, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(s, &it, "shared", 6), 0);
	for (int i = 0; i < N; i++) {
		w[i] = (struct worker){s, it.id, 0};
		assert_int_equal(pthread_create(&t[i], NULL, read_many, &w[i]), 0);
	}
	for (int i = 0; i < 20; i++) {
		long n = pg_admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'",
			       pf->schema[0]);

		most = n > most ? n : most;
		usleep(2000);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].errors, 0);
	}
	/* The fixture's own store holds one connection too. */
	assert_true(most >= 1);
	assert_true(most <= 3);
	lks_store_free(s);
}

/* The server cuts every connection (as a restart does): the next operations
 * reconnect and succeed. */
static void test_reconnects(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	lks_item it, *got = NULL;
	void *content = NULL;
	size_t len;
	int64_t count;

	make_item(&it, "still here", 10, 60, 3);
	assert_int_equal(lks_store_put(f->store, &it, "still here", 10), 0);
	for (int round = 0; round < 3; round++) {
		assert_true(pg_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
				  "WHERE application_name = '%s'",
				  pf->schema[0]) >= 1);
		/* Wait until the server has really closed them. */
		for (int i = 0; i < 200 && pg_admin("SELECT count(*) FROM pg_stat_activity WHERE "
						 "application_name = '%s'",
						 pf->schema[0]) > 0;
		     i++)
			usleep(5000);
		assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW,
						LKS_STORE_COUNT),
				 0);
		assert_memory_equal(content, "still here", 10);
		assert_int_equal(got->reads_left, 2 - round);
		lks_item_free(got);
		free(content);
	}
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, 0);
}

static void test_large_content(void **state)
{
	struct fixture *f = fixture(state);
	size_t n = (size_t)26 << 20;
	unsigned char *big = malloc(n);
	lks_item it, *got = NULL;
	uint8_t hash[LKS_HASH_BYTES];
	void *content = NULL;
	size_t len;

	assert_non_null(big);
	assert_int_equal(lks_random(big, n), 0);
	make_item(&it, (char *)big, n, 60, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, big, n), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT), 0);
	assert_int_equal(len, n);
	lks_sha256(hash, content, len);
	assert_memory_equal(hash, it.content_hash, LKS_HASH_BYTES);
	lks_item_free(got);
	free(content);
	/* Replaced by content as large, then read back. */
	big[0] ^= 0xff;
	lks_sha256(it.content_hash, big, n);
	assert_int_equal(lks_store_update(f->store, NULL, it.id, &it, big, n, NOW + 1), 0);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW + 1, 0), 0);
	assert_int_equal(len, n);
	assert_true(memcmp(content, big, n) == 0);
	lks_item_free(got);
	free(content);
	free(big);
}

/* A node that dies between consuming the last read and deleting the row
 * leaves a used-up row: never served, and purged by the next sweep. */
static void test_used_up_rows_are_swept(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	lks_item it, *got = NULL;
	void *content = NULL;
	size_t len;
	unsigned purged = 0;
	int64_t count;

	make_item(&it, "gone", 4, 3600, 1);
	assert_int_equal(lks_store_put(f->store, &it, "gone", 4), 0);
	pg_admin("UPDATE %s.items SET reads_left = 0 WHERE id = '%s'", pf->schema[0], it.id);
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), LKS_ENOTFOUND);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, LKS_STORE_COUNT),
			 LKS_ENOTFOUND);
	assert_int_equal(lks_store_read(f->store, &got, &content, &len, it.id, NOW, 0), LKS_ENOTFOUND);
	assert_int_equal(lks_store_update(f->store, NULL, it.id, &it, "x", 1, NOW), LKS_ENOTFOUND);
	assert_int_equal(lks_store_sweep(f->store, &purged, NOW, 10), 0);
	assert_int_equal(purged, 1);
	assert_int_equal(lks_store_count(f->store, &count), 0);
	assert_int_equal(count, 0);
}


/* What a watch through the cache heard last. */
struct heard {
	pthread_mutex_t lock;
	int64_t version;
	int calls;
};

static void on_heard(void *ctx, const char *id, int64_t version)
{
	struct heard *h = ctx;

	if (id == NULL)
		return;
	pthread_mutex_lock(&h->lock);
	h->version = version;
	h->calls++;
	pthread_mutex_unlock(&h->lock);
}

static int64_t heard_version(struct heard *h)
{
	int64_t v;

	pthread_mutex_lock(&h->lock);
	v = h->version;
	pthread_mutex_unlock(&h->lock);
	return v;
}

/* ------------------------------------------------------------------------ */
/* The read cache in front of PostgreSQL */

/* Reads id through s, expecting content (a NUL-terminated string). */
static int reads_as(lks_store *s, const char *id, const char *want)
{
	lks_item *got = NULL;
	void *content = NULL;
	size_t len = 0;
	int same;

	if (lks_store_read(s, &got, &content, &len, id, NOW, 0) < 0)
		return 0;
	same = len == strlen(want) && memcmp(content, want, len) == 0;
	lks_item_free(got);
	free(content);
	return same;
}

/* Waits up to seconds until id reads as want through s; returns the time it
 * took, or -1. */
static double until_reads_as(lks_store *s, const char *id, const char *want, double seconds_max)
{
	double start = seconds();

	while (!reads_as(s, id, want)) {
		if (seconds() - start > seconds_max)
			return -1;
		usleep(2000);
	}
	return seconds() - start;
}

/* Changes the content in the table without telling anyone (no notification):
 * only a read that reaches PostgreSQL sees it. */
static void change_behind_the_back(struct fixture *f, const char *id, const char *content)
{
	struct pg_fixture *pf = f->backend;

	pg_admin("UPDATE %s.items SET data = convert_to('%s', 'UTF8'), size = %zu WHERE id = '%s'",
		 pf->schema[0], content, strlen(content), id);
}

static void test_cache_serves_from_memory(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	lks_item it;

	make_item(&it, "v1", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	assert_true(reads_as(f->store, it.id, "v1")); /* kept from here on */
	change_behind_the_back(f, it.id, "behind");
	assert_true(reads_as(f->store, it.id, "v1"));
	/* A notification, from whoever sends it, drops the copy. */
	pg_admin("SELECT pg_notify('linksync_' || md5('%s'), '%s 7')", pf->schema[0], it.id);
	assert_true(until_reads_as(f->store, it.id, "behind", 3) >= 0);
}

static void test_cache_drops_what_other_nodes_change(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *other = NULL;
	lks_item it, ch, *got = NULL;
	double took;

	assert_int_equal(lks_store_open(&other, f->url, NULL), 0);
	make_item(&it, "v1", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	assert_true(reads_as(f->store, it.id, "v1"));
	make_item(&ch, "v2", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_update(other, NULL, it.id, &ch, "v2", 2, NOW + 1), 0);
	took = until_reads_as(f->store, it.id, "v2", 3);
	assert_true(took >= 0);
	print_message("an update through another node reached the cache after %.1f ms\n",
		      took * 1000);
	assert_int_equal(lks_store_delete(other, it.id), 0);
	for (int i = 0; i < 1500 && lks_store_get(f->store, &got, it.id, NOW) == 0; i++) {
		lks_item_free(got);
		got = NULL;
		usleep(2000);
	}
	assert_int_equal(lks_store_get(f->store, &got, it.id, NOW), LKS_ENOTFOUND);
	lks_store_free(other);
}

/* While its listener is cut off the cache serves nothing from memory, and
 * what it held before is dropped once it listens again. */
static void test_cache_is_dropped_when_cut_off(void **state)
{
	struct fixture *f = fixture(state);
	struct pg_fixture *pf = f->backend;
	lks_item it;

	make_item(&it, "v1", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	assert_true(reads_as(f->store, it.id, "v1"));
	change_behind_the_back(f, it.id, "during the cut");
	assert_true(reads_as(f->store, it.id, "v1"));
	assert_int_equal(pg_admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
				  "WHERE application_name = '%s' AND query LIKE 'LISTEN%%'",
				  pf->schema[0]),
			 1);
	/* Well within the maximum age (5 s): the watch is what drops it. */
	assert_true(until_reads_as(f->store, it.id, "during the cut", 3) >= 0);
	/* Listening again, it caches and is kept true again. */
	for (int i = 0; i < 500 && pg_admin("SELECT count(*) FROM pg_stat_activity WHERE "
					    "application_name = '%s' AND query LIKE 'LISTEN%%'",
					    pf->schema[0]) == 0;
	     i++)
		usleep(10000);
	assert_true(reads_as(f->store, it.id, "during the cut"));
	change_behind_the_back(f, it.id, "after");
	assert_true(reads_as(f->store, it.id, "during the cut"));
	pg_admin("SELECT pg_notify('linksync_' || md5('%s'), '%s 9')", pf->schema[0], it.id);
	assert_true(until_reads_as(f->store, it.id, "after", 3) >= 0);
}

static void test_cache_copies_expire(void **state)
{
	struct fixture *f = fixture(state);
	lks_item it;

	make_item(&it, "v1", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	assert_true(reads_as(f->store, it.id, "v1"));
	change_behind_the_back(f, it.id, "later");
	assert_true(reads_as(f->store, it.id, "v1"));
	usleep(400 * 1000); /* the maximum age is 300 ms here */
	assert_true(reads_as(f->store, it.id, "later"));
}

/* The caller's watch goes through the cache: it hears the same changes. */
static void test_cache_passes_the_watch_on(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *other = NULL;
	lks_item it, ch;
	struct heard h = {PTHREAD_MUTEX_INITIALIZER, 0, 0};

	assert_int_equal(lks_store_open(&other, f->url, NULL), 0);
	assert_int_equal(lks_store_watch(f->store, on_heard, &h), 0);
	assert_int_equal(lks_store_watch(f->store, on_heard, &h), LKS_EINVAL);
	make_item(&it, "v1", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v1", 2), 0);
	make_item(&ch, "v2", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_update(other, NULL, it.id, &ch, "v2", 2, NOW + 1), 0);
	for (int i = 0; i < 500 && heard_version(&h) != 2; i++)
		usleep(10000);
	assert_int_equal(heard_version(&h), 2);
	lks_store_unwatch(f->store);
	assert_int_equal(lks_store_watch(f->store, on_heard, &h), 0); /* free again */
	lks_store_free(other);
}

/* One node rewrites an item, again and again, while readers on another read
 * it through the cache: after each update the new version shows within a
 * second (no older version is ever put back in the cache, whatever the
 * interleaving of reads, writes and notifications). */
struct hammer {
	lks_store *store;
	const char *id;
	volatile int stop;
	long reads;
};

static void *hammer_reads(void *arg)
{
	struct hammer *h = arg;

	while (!h->stop) {
		lks_item *got = NULL;
		void *content = NULL;
		size_t len;

		assert_int_equal(lks_store_read(h->store, &got, &content, &len, h->id, NOW, 0), 0);
		lks_item_free(got);
		free(content);
		h->reads++;
	}
	return NULL;
}

static void test_cache_never_keeps_an_old_version(void **state)
{
	struct fixture *f = fixture(state);
	lks_store *other = NULL;
	struct hammer h[3];
	pthread_t t[3];
	lks_item it, ch;
	char body[32];
	long reads = 0;
	int n;

	assert_int_equal(lks_store_open(&other, f->url, NULL), 0);
	make_item(&it, "v0", 2, 3600, LKS_READS_UNLIMITED);
	assert_int_equal(lks_store_put(f->store, &it, "v0", 2), 0);
	for (int i = 0; i < 3; i++) {
		h[i] = (struct hammer){f->store, it.id, 0, 0};
		assert_int_equal(pthread_create(&t[i], NULL, hammer_reads, &h[i]), 0);
	}
	for (n = 1; n <= 300; n++) {
		snprintf(body, sizeof(body), "v%d", n);
		make_item(&ch, body, strlen(body), 3600, LKS_READS_UNLIMITED);
		assert_int_equal(lks_store_update(other, NULL, it.id, &ch, body, strlen(body), NOW), 0);
		if (until_reads_as(f->store, it.id, body, 1) < 0)
			break;
	}
	for (int i = 0; i < 3; i++) {
		h[i].stop = 1;
		pthread_join(t[i], NULL);
		reads += h[i].reads;
	}
	print_message("%ld reads during %d updates through another node\n", reads, n - 1);
	assert_int_equal(n, 301); /* else version n stayed unseen for a second */
	lks_store_free(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_CONTRACT_TESTS(setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_connect_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_content, setup, teardown),
		cmocka_unit_test_setup_teardown(test_used_up_rows_are_swept, setup, teardown),
		STORE_CONTRACT_TESTS(setup_cached, teardown),
		cmocka_unit_test_setup_teardown(test_cache_serves_from_memory, setup_cached, teardown),
		cmocka_unit_test_setup_teardown(test_cache_drops_what_other_nodes_change, setup_cached,
						teardown),
		cmocka_unit_test_setup_teardown(test_cache_is_dropped_when_cut_off, setup_cached,
						teardown),
		cmocka_unit_test_setup_teardown(test_cache_copies_expire, setup_cached_short, teardown),
		cmocka_unit_test_setup_teardown(test_cache_passes_the_watch_on, setup_cached, teardown),
		cmocka_unit_test_setup_teardown(test_cache_never_keeps_an_old_version, setup_cached,
						teardown),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
