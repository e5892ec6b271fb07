/* The store's end-to-end fields (schema v2): an encrypted item's proof hash
 * and envelope header survive put, get, read, update and the read cache; a
 * plain item has none; an update can switch them; and a version 1 SQLite
 * store is migrated in place, keeping its items. */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "linksync/error.h"
#include "linksync/store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NOW 1800000000

struct fx {
	char dir[64];
	char url[128];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/lks-zkstore-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof(f->url), "sqlite:%s/linksync.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static void make_item(lks_item *it, int encrypted, const char *content)
{
	memset(it, 0, sizeof(*it));
	assert_int_equal(lks_id_new(it->id), 0);
	it->kind = LKS_KIND_FILE;
	it->type = encrypted ? LKS_ENVELOPE_MEDIA_TYPE : "text/plain; charset=utf-8";
	it->kind = encrypted ? LKS_KIND_FILE : LKS_KIND_NOTE;
	it->created_at = it->updated_at = NOW;
	it->expires_at = NOW + 3600;
	it->version = 1;
	it->reads_left = LKS_READS_UNLIMITED;
	it->size = (int64_t)strlen(content);
	lks_token_hash(it->token_hash, "token", 5);
	lks_sha256(it->content_hash, content, strlen(content));
	if (encrypted) {
		it->encrypted = 1;
		for (int i = 0; i < LKS_HASH_BYTES; i++)
			it->proof_hash[i] = (uint8_t)(0xa0 + i);
		for (int i = 0; i < LKS_ENVELOPE_HEADER_BYTES; i++)
			it->envelope_header[i] = (uint8_t)(i * 7);
	}
}

static void same_e2e(const lks_item *a, const lks_item *b)
{
	assert_int_equal(a->encrypted, b->encrypted);
	assert_memory_equal(a->proof_hash, b->proof_hash, LKS_HASH_BYTES);
	assert_memory_equal(a->envelope_header, b->envelope_header, LKS_ENVELOPE_HEADER_BYTES);
}

/* Through the store at url (with and without the read cache). */
static void roundtrip(const char *url, size_t cache)
{
	lks_store_options opts = {0};
	lks_store *s = NULL;
	lks_item enc, plain, *got = NULL, *upd = NULL;
	void *content = NULL;
	size_t len = 0;

	opts.cache_bytes = cache;
	assert_int_equal(lks_store_open(&s, url, &opts), 0);
	make_item(&enc, 1, "LKS1 envelope bytes");
	make_item(&plain, 0, "plain");
	assert_int_equal(lks_store_put(s, &enc, "LKS1 envelope bytes", 19), 0);
	assert_int_equal(lks_store_put(s, &plain, "plain", 5), 0);

	assert_int_equal(lks_store_get(s, &got, enc.id, NOW), 0);
	same_e2e(&enc, got);
	lks_item_free(got);
	for (int twice = 0; twice < 2; twice++) { /* the second one from the cache */
		assert_int_equal(lks_store_read(s, &got, &content, &len, enc.id, NOW, 0), 0);
		same_e2e(&enc, got);
		assert_int_equal(len, 19);
		lks_item_free(got);
		free(content);
	}
	assert_int_equal(lks_store_get(s, &got, plain.id, NOW), 0);
	assert_int_equal(got->encrypted, 0);
	same_e2e(&plain, got);
	lks_item_free(got);

	/* A new envelope: a new proof and header. */
	enc.proof_hash[0] ^= 0xff;
	enc.envelope_header[36] ^= 0xff;
	assert_int_equal(lks_store_update(s, &upd, enc.id, &enc, "LKS1 new envelope", 17, NOW + 1),
			 0);
	same_e2e(&enc, upd);
	lks_item_free(upd);
	assert_int_equal(lks_store_read(s, &got, &content, &len, enc.id, NOW + 1, 0), 0);
	same_e2e(&enc, got);
	lks_item_free(got);
	free(content);
	/* And back to plain: the fields are cleared, not kept. */
	plain.id[0] = '\0';
	memcpy(plain.id, enc.id, sizeof(plain.id));
	assert_int_equal(lks_store_update(s, &upd, enc.id, &plain, "plain", 5, NOW + 2), 0);
	assert_int_equal(upd->encrypted, 0);
	lks_item_free(upd);
	assert_int_equal(lks_store_get(s, &got, enc.id, NOW + 2), 0);
	assert_int_equal(got->encrypted, 0);
	lks_item_free(got);
	lks_store_free(s);
}

static void test_roundtrip(void **state)
{
	struct fx *f = *state;

	roundtrip(f->url, 0);
}

static void test_roundtrip_cached(void **state)
{
	struct fx *f = *state;

	roundtrip(f->url, 1 << 20);
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &err);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
}

static int user_version(const char *path)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* A store as version 1 wrote it, with one item, is migrated in place. */
static void test_migrates_v1(void **state)
{
	struct fx *f = *state;
	char path[128];
	sqlite3 *db = NULL;
	lks_store *s = NULL;
	lks_item *got = NULL, enc;
	void *content = NULL;
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/linksync.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	exec_ok(db, "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;"
		    "CREATE TABLE items (id TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, type TEXT "
		    "NOT NULL, name TEXT, summary TEXT, size INTEGER NOT NULL, created_at INTEGER "
		    "NOT NULL, updated_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, version "
		    "INTEGER NOT NULL, reads_left INTEGER NOT NULL, token_hash BLOB NOT NULL, "
		    "content_hash BLOB NOT NULL);"
		    "CREATE INDEX items_expires ON items (expires_at);"
		    "CREATE TABLE contents (item INTEGER PRIMARY KEY, data BLOB NOT NULL);"
		    "CREATE TRIGGER items_delete AFTER DELETE ON items BEGIN"
		    " DELETE FROM contents WHERE item = old.rowid; END;"
		    "INSERT INTO items VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaa', 1, "
		    "'text/plain; charset=utf-8', 'old.txt', NULL, 4, 1, 1, 4000000000, 1, -1, "
		    "zeroblob(32), zeroblob(32));"
		    "INSERT INTO contents VALUES (last_insert_rowid(), CAST('old!' AS BLOB));"
		    "PRAGMA user_version=1;");
	sqlite3_close(db);
	assert_int_equal(user_version(path), 1);

	assert_int_equal(lks_store_open(&s, f->url, NULL), 0);
	assert_int_equal(user_version(path), 2);
	assert_int_equal(
	    lks_store_read(s, &got, &content, &len, "aaaaaaaaaaaaaaaaaaaaaaaaaa", NOW, 0), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(content, "old!", 4);
	assert_string_equal(got->name, "old.txt");
	assert_int_equal(got->encrypted, 0);
	lks_item_free(got);
	free(content);
	make_item(&enc, 1, "LKS1 in a migrated store");
	assert_int_equal(lks_store_put(s, &enc, "LKS1 in a migrated store", 24), 0);
	assert_int_equal(lks_store_get(s, &got, enc.id, NOW), 0);
	same_e2e(&enc, got);
	lks_item_free(got);
	lks_store_free(s);
	/* Opening again migrates nothing more. */
	assert_int_equal(lks_store_open(&s, f->url, NULL), 0);
	lks_store_free(s);
	assert_int_equal(user_version(path), 2);
}

static void test_type_is_envelope(void **state)
{
	(void)state;
	assert_true(lks_type_is_envelope("application/vnd.linksync.envelope"));
	assert_true(lks_type_is_envelope("application/vnd.linksync.envelope; x=1"));
	assert_false(lks_type_is_envelope("application/vnd.linksync.envelopes"));
	assert_false(lks_type_is_envelope("text/plain"));
	assert_false(lks_type_is_envelope(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip_cached, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_migrates_v1, setup, teardown),
	    cmocka_unit_test(test_type_is_envelope),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
