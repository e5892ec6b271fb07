/* The PostgreSQL store: the shared store contract (store_contract.h), each
 * test in a schema of its own, then what only PostgreSQL has: URLs and their
 * errors (never quoting the password), the connect timeout, the pool size,
 * reconnecting after the server drops connections, 26 MiB content, and
 * used-up rows left behind by a crashed node.
 *
 * The cluster: env LKS_PG_URL, or else a throwaway one started with
 * scripts/pg.sh (from env LKS_SRC) and stopped at the end. Without PostgreSQL
 * installed every test is skipped. */
#include "store_contract.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>

static struct {
	char url[600];     /* the cluster's database */
	char dir[64];      /* the cluster pg.sh started, or "" */
	const char *skip;  /* why every test is skipped, or NULL */
	PGconn *admin;     /* creates and drops the test schemas */
	int schemas;       /* schema names handed out */
} pg;

struct pg_fixture {
	char schema[4][48]; /* the test's schemas: its store's, then fresh ones */
	int nschemas;
};

/* The source tree: env LKS_SRC, or this file's place in it. */
static void source_dir(char *out, size_t size)
{
	const char *env = getenv("LKS_SRC");
	const char *cut;

	if (env != NULL && *env != '\0') {
		snprintf(out, size, "%s", env);
		return;
	}
	cut = strstr(__FILE__, "/tests/core/");
	snprintf(out, size, "%.*s", cut ? (int)(cut - __FILE__) : 1, cut ? __FILE__ : ".");
}

static int group_setup(void **state)
{
	const char *env = getenv("LKS_PG_URL");
	char src[512], cmd[1200];
	FILE *p;
	int status;

	(void)state;
	if (env != NULL && *env != '\0') {
		snprintf(pg.url, sizeof(pg.url), "%s", env);
	} else {
		source_dir(src, sizeof(src));
		snprintf(pg.dir, sizeof(pg.dir), "/tmp/lks-pgtest-XXXXXX");
		if (mkdtemp(pg.dir) == NULL)
			return -1;
		snprintf(cmd, sizeof(cmd), "'%s/scripts/pg.sh' start '%s'", src, pg.dir);
		p = popen(cmd, "r");
		if (p == NULL)
			return -1;
		if (fgets(pg.url, sizeof(pg.url), p) == NULL)
			pg.url[0] = '\0';
		pg.url[strcspn(pg.url, "\n")] = '\0';
		status = pclose(p);
		if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
			rmdir(pg.dir);
			pg.dir[0] = '\0';
			pg.skip = "PostgreSQL is not installed (apt-get install postgresql), "
				  "and LKS_PG_URL is not set";
			fprintf(stderr, "test_store_postgres: skipping every test: %s\n", pg.skip);
			return 0;
		}
		if (status != 0 || pg.url[0] == '\0') {
			fprintf(stderr, "test_store_postgres: %s failed\n", cmd);
			return -1;
		}
	}
	pg.admin = PQconnectdb(pg.url);
	if (PQstatus(pg.admin) != CONNECTION_OK) {
		fprintf(stderr, "test_store_postgres: cannot connect to %s: %s", pg.url,
			PQerrorMessage(pg.admin));
		return -1;
	}
	PQclear(PQexec(pg.admin, "SET client_min_messages = warning"));
	return 0;
}

static int group_teardown(void **state)
{
	char src[512], cmd[1200];
	int rc = 0;

	(void)state;
	PQfinish(pg.admin);
	if (pg.dir[0] != '\0') {
		source_dir(src, sizeof(src));
		snprintf(cmd, sizeof(cmd), "'%s/scripts/pg.sh' stop '%s'", src, pg.dir);
		rc = system(cmd) == 0 ? 0 : -1;
	}
	return rc;
}

/* Runs SQL on the admin connection; returns the first value as a number. */
static long admin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long admin(const char *fmt, ...)
{
	char sql[1024];
	va_list ap;
	PGresult *r;
	long v = 0;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof(sql), fmt, ap);
	va_end(ap);
	r = PQexec(pg.admin, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQerrorMessage(pg.admin));
	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
		v = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return v;
}

/* A new schema and a store URL that uses it (and names its connections
 * after it, so pg_stat_activity tells them apart). */
static void new_schema(struct fixture *f, char *url, size_t size)
{
	struct pg_fixture *pf = f->backend;
	char *name;

	assert_true(pf->nschemas < 4);
	name = pf->schema[pf->nschemas++];
	snprintf(name, sizeof(pf->schema[0]), "lks_t%d_%d", (int)getpid(), ++pg.schemas);
	admin("CREATE SCHEMA %s", name);
	snprintf(url, size, "%s%soptions=-csearch_path%%3D%s&application_name=%s", pg.url,
		 strchr(pg.url, '?') ? "&" : "?", name, name);
}

static const char *contract_backend(void)
{
	return "postgres";
}

static void contract_set_schema_version(struct fixture *f, int version)
{
	struct pg_fixture *pf = f->backend;

	admin("UPDATE %s.schema_version SET version = %d", pf->schema[0], version);
}

static void contract_fresh_url(struct fixture *f, char *url, size_t size)
{
	new_schema(f, url, size);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	if (pg.skip != NULL) {
		f->skip = 1;
		return 0;
	}
	f->backend = calloc(1, sizeof(struct pg_fixture));
	new_schema(f, f->url, sizeof(f->url));
	if (lks_store_open(&f->store, f->url, NULL) < 0)
		fail_msg("open %s: %s", f->url, lks_error_message());
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct pg_fixture *pf = f->backend;

	lks_store_free(f->store);
	for (int i = 0; pf != NULL && i < pf->nschemas; i++)
		admin("DROP SCHEMA %s CASCADE", pf->schema[i]);
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

	assert_int_equal(admin("SELECT count(*) FROM %s.schema_version", pf->schema[0]), 1);
	assert_int_equal(admin("SELECT version FROM %s.schema_version", pf->schema[0]), 2);
	/* Opening again changes nothing. */
	assert_int_equal(lks_store_open(&again, f->url, NULL), 0);
	lks_store_free(again);
	assert_int_equal(admin("SELECT count(*) FROM %s.schema_version", pf->schema[0]), 1);
	assert_int_equal(admin("SELECT count(*) FROM pg_indexes WHERE schemaname = '%s' "
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
		long n = admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = '%s'",
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
		assert_true(admin("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
				  "WHERE application_name = '%s'",
				  pf->schema[0]) >= 1);
		/* Wait until the server has really closed them. */
		for (int i = 0; i < 200 && admin("SELECT count(*) FROM pg_stat_activity WHERE "
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
	admin("UPDATE %s.items SET reads_left = 0 WHERE id = '%s'", pf->schema[0], it.id);
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
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
