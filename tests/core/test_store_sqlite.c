/* The SQLite store: the shared store contract (store_contract.h) on a fresh
 * database file per test, then what only SQLite has: its URLs and paths. */
#include "store_contract.h"

#include <sqlite3.h>

struct sqlite_fixture {
	char dir[64];
	char path[128];
	int fresh; /* fresh URLs handed out */
};

static const char *contract_backend(void)
{
	return "sqlite";
}

static void contract_set_schema_version(struct fixture *f, int version)
{
	struct sqlite_fixture *sf = f->backend;
	char sql[64];
	sqlite3 *db;

	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", version);
	assert_int_equal(sqlite3_open(sf->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void contract_fresh_url(struct fixture *f, char *url, size_t size)
{
	struct sqlite_fixture *sf = f->backend;

	snprintf(url, size, "sqlite:%s/fresh%d/linksync.db", sf->dir, ++sf->fresh);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct sqlite_fixture *sf = calloc(1, sizeof(*sf));

	f->backend = sf;
	snprintf(sf->dir, sizeof(sf->dir), "/tmp/lks-store-XXXXXX");
	assert_non_null(mkdtemp(sf->dir));
	snprintf(sf->path, sizeof(sf->path), "%s/sub/linksync.db", sf->dir);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", sf->path);
	assert_int_equal(lks_store_open(&f->store, f->url, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct sqlite_fixture *sf = f->backend;
	char cmd[200];

	lks_store_free(f->store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", sf->dir);
	assert_int_equal(system(cmd), 0);
	free(sf);
	free(f);
	return 0;
}

static void test_bad_urls(void **state)
{
	lks_store *other = NULL;

	(void)state;
	assert_int_equal(lks_store_open(&other, "sqlite:", NULL), LKS_EINVAL);
	assert_int_equal(lks_store_open(&other, "sqlite:/proc/no/such/dir/x.db", NULL), LKS_ESTORE);
	assert_null(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		STORE_CONTRACT_TESTS(setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_urls, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
