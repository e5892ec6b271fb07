/* The embedded SQLite backend: one database file in WAL mode, one connection
 * per thread (SQLite connections are not shared across threads), prepared
 * statements kept per connection, content in its own table so that metadata
 * changes (a consumed read) never rewrite a large blob. Commits never
 * checkpoint: a thread of the store does, on its own connection, so that
 * copying the WAL into the database and its syncs leave the commit path. */
#include "backend.h"
#include "linksync/error.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SCHEMA_VERSION 2

/* Checkpoints (see the checkpointer below). New WAL frames that wake the
 * checkpointer: what wal_autocheckpoint did inline by default. */
#define CKPT_PAGES 1000
/* Without a pause between commits a passive checkpoint never reaches the
 * end of the WAL, and only a WAL copied to its end starts over: past this
 * many frames the committing thread copies the rest itself. */
#define CKPT_HARD_PAGES LKS_SQLITE_WAL_HARD_FRAMES
/* The checkpointer's tick: a checkpoint that stopped short is retried, and
 * a large WAL of a store idle for a whole tick is truncated. */
#define CKPT_TICK_MS 500
/* A WAL that grew past this (readers in the way of checkpoints) is cut back
 * to it when it starts over; the steady state stays below. */
#define WAL_LIMIT_BYTES (64 << 20)

enum {
	ST_INSERT_ITEM,
	ST_INSERT_CONTENT,
	ST_GET,
	ST_READ,
	ST_CONSUME,
	ST_UPDATE_ITEM,
	ST_UPDATE_CONTENT,
	ST_DELETE,
	ST_SWEEP,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_COUNT,
	ST__N
};

#define META_COLS                                                                      \
	"i.id, i.kind, i.type, i.name, i.summary, i.size, i.created_at, i.updated_at, " \
	"i.expires_at, i.version, i.reads_left, i.token_hash, i.content_hash, i.proof_hash, " \
	"i.envelope_header"
#define COL_DATA 15
#define LIVE "i.expires_at > ?2 AND i.reads_left <> 0"

static const char *const sql[ST__N] = {
	[ST_INSERT_ITEM] = "INSERT INTO items (id, kind, type, name, summary, size, created_at, "
			   "updated_at, expires_at, version, reads_left, token_hash, content_hash, "
			   "proof_hash, envelope_header) "
			   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
	[ST_INSERT_CONTENT] = "INSERT INTO contents (item, data) VALUES (last_insert_rowid(), ?1)",
	[ST_GET] = "SELECT " META_COLS " FROM items i WHERE i.id = ?1 AND " LIVE,
	[ST_READ] = "SELECT " META_COLS ", c.data FROM items i JOIN contents c ON c.item = i.rowid "
		    "WHERE i.id = ?1 AND " LIVE,
	[ST_CONSUME] = "UPDATE items SET reads_left = reads_left - 1 WHERE id = ?1",
	[ST_UPDATE_ITEM] = "UPDATE items SET type = ?3, name = ?4, summary = ?5, size = ?6, "
			   "content_hash = ?7, kind = ?8, proof_hash = ?9, envelope_header = ?10, "
			   "updated_at = ?2, version = version + 1 "
			   "WHERE id = ?1 AND expires_at > ?2 AND reads_left <> 0",
	[ST_UPDATE_CONTENT] = "UPDATE contents SET data = ?2 "
			      "WHERE item = (SELECT rowid FROM items WHERE id = ?1)",
	[ST_DELETE] = "DELETE FROM items WHERE id = ?1",
	/* Expired items only, through the expires_at index: a used-up item is
	 * deleted by its last read, so none waits here (an OR on reads_left
	 * made every sweep scan the table). */
	[ST_SWEEP] = "DELETE FROM items WHERE rowid IN (SELECT rowid FROM items "
		     "WHERE expires_at <= ?1 LIMIT ?2)",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_COUNT] = "SELECT count(*) FROM items",
};

/* Schema version 1. Deleting an item deletes its content (trigger rather than
 * a foreign key, which would need a pragma on every connection). */
static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS items ("
	" id TEXT NOT NULL UNIQUE,"
	" kind INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" name TEXT,"
	" summary TEXT,"
	" size INTEGER NOT NULL,"
	" created_at INTEGER NOT NULL,"
	" updated_at INTEGER NOT NULL,"
	" expires_at INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" reads_left INTEGER NOT NULL,"
	" token_hash BLOB NOT NULL,"
	" content_hash BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS items_expires ON items (expires_at);"
	"CREATE TABLE IF NOT EXISTS contents (item INTEGER PRIMARY KEY, data BLOB NOT NULL);"
	"CREATE TRIGGER IF NOT EXISTS items_delete AFTER DELETE ON items BEGIN"
	" DELETE FROM contents WHERE item = old.rowid; END;";

/* Schema version 2: end-to-end encrypted items keep the SHA-256 of their read
 * proof and their envelope's public header (both NULL for other items). */
static const char schema_v2[] = "ALTER TABLE items ADD COLUMN proof_hash BLOB;"
				"ALTER TABLE items ADD COLUMN envelope_header BLOB;";

struct conn {
	sqlite3 *db;
	int64_t last_free_pages; /* free pages after the last compact round */
	sqlite3_stmt *st[ST__N];
	struct conn *next;
};

struct sqlite_store {
	struct lks_store base;
	char *path;
	int sync_full;
	pthread_key_t key;
	pthread_mutex_t lock; /* guards conns */
	struct conn *conns;

	/* The checkpointer. */
	pthread_mutex_t ckpt_run;  /* held while a checkpoint runs: one at a time */
	pthread_mutex_t ckpt_lock; /* guards the four fields below */
	pthread_cond_t ckpt_cond;  /* CLOCK_MONOTONIC */
	int ckpt_wanted, ckpt_stop;
	int64_t ckpt_asked;	/* WAL frames when the checkpointer was last woken */
	uint64_t commits;	/* commits seen, to tell an idle store */
	struct conn *ckpt_conn; /* the checkpointer's own connection */
	pthread_t ckpt_thread;
	int ckpt_running;
};

static int db_error(sqlite3 *db, const char *what)
{
	return lks_error_set(LKS_ESTORE, "sqlite %s: %s", what, db ? sqlite3_errmsg(db) : "?");
}

static void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	for (int i = 0; i < ST__N; i++)
		sqlite3_finalize(c->st[i]);
	sqlite3_close(c->db);
	free(c);
}

/* ------------------------------------------------------------------------ */
/* Checkpoints */

/* Runs one checkpoint of the given mode on db, one at a time. Returns
 * SQLite's code; *log gets the frames in the WAL and *copied those now in
 * the database, both -1 if it could not run. */
static int checkpoint(struct sqlite_store *s, sqlite3 *db, int mode, int *log, int *copied)
{
	int rc;

	*log = *copied = -1;
	pthread_mutex_lock(&s->ckpt_run);
	rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, log, copied);
	pthread_mutex_unlock(&s->ckpt_run);
	return rc;
}

/* SQLite calls this after every commit of every connection of the store,
 * with the frames now in the WAL; it takes wal_autocheckpoint's place. It
 * wakes the checkpointer when enough is new, and past the hard bound
 * checkpoints here, on the committing thread. Passive even then: RESTART or
 * TRUNCATE would wait, holding the write lock, for every reader of an older
 * snapshot, so one slow reader would stall every create; a passive one
 * copies what no reader holds, and the next commit past the bound tries
 * again. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct sqlite_store *s = arg;
	int64_t fresh;
	int log, copied;

	(void)name;
	pthread_mutex_lock(&s->ckpt_lock);
	s->commits++;
	/* Fewer frames than at the last call: the WAL has started over. */
	fresh = frames >= s->ckpt_asked ? frames - s->ckpt_asked : frames;
	if (fresh >= CKPT_PAGES) {
		s->ckpt_asked = frames;
		s->ckpt_wanted = 1;
		pthread_cond_signal(&s->ckpt_cond);
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	if (frames >= CKPT_HARD_PAGES)
		checkpoint(s, db, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
	return SQLITE_OK;
}

static int conn_open(struct conn **out, struct sqlite_store *s)
{
	struct conn *c = calloc(1, sizeof(*c));
	int rc = LKS_ENOMEM;
	char pragmas[256];
	struct timespec start;

	*out = NULL;
	if (c == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	c->last_free_pages = INT64_MAX;
	if (sqlite3_open_v2(s->path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK) {
		rc = lks_error_set(LKS_ESTORE, "cannot open %s: %s", s->path,
				   c->db ? sqlite3_errmsg(c->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(c->db, 10000);
	snprintf(pragmas, sizeof(pragmas),
		 /* auto_vacuum first: once WAL mode has written page 1, a new
		  * database can no longer take it. */
		 "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; "
		 "PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=0; "
		 "PRAGMA journal_size_limit=%lld;",
		 s->sync_full ? "FULL" : "NORMAL", (long long)WAL_LIMIT_BYTES);
	/* Nodes opening a new store at once: switching to WAL can meet a lock
	 * that SQLite does not wait for with its busy handler (the WAL's
	 * recovery), so try again for up to 10 s, as long as the busy timeout. */
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		int err = sqlite3_exec(c->db, pragmas, NULL, NULL, NULL);
		struct timespec pause = {0, 10 * 1000 * 1000}, now;

		if (err == SQLITE_OK)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((err & 0xff) != SQLITE_BUSY || now.tv_sec - start.tv_sec >= 10) {
			rc = db_error(c->db, "setup");
			goto fail;
		}
		nanosleep(&pause, NULL);
	}
	sqlite3_wal_hook(c->db, wal_hook, s);
	*out = c;
	return 0;
fail:
	conn_free(c);
	return rc;
}

static int conn_prepare(struct conn *c)
{
	for (int i = 0; i < ST__N; i++)
		if (sqlite3_prepare_v3(c->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i],
				       NULL) != SQLITE_OK)
			return db_error(c->db, "prepare");
	return 0;
}

/* The calling thread's connection, opened on first use. */
static struct conn *thread_conn(struct sqlite_store *s)
{
	struct conn *c = pthread_getspecific(s->key);

	if (c != NULL)
		return c;
	if (conn_open(&c, s) < 0)
		return NULL;
	if (conn_prepare(c) < 0) {
		conn_free(c);
		return NULL;
	}
	pthread_mutex_lock(&s->lock);
	c->next = s->conns;
	s->conns = c;
	pthread_mutex_unlock(&s->lock);
	pthread_setspecific(s->key, c);
	return c;
}

static sqlite3_stmt *stmt(struct conn *c, int which)
{
	sqlite3_stmt *st = c->st[which];

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* Runs a statement that returns no rows. */
static int exec_stmt(struct conn *c, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return db_error(c->db, what);
	return 0;
}

static void rollback(struct conn *c)
{
	if (!sqlite3_get_autocommit(c->db))
		exec_stmt(c, stmt(c, ST_ROLLBACK), "rollback");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

static int bind_blob(sqlite3_stmt *st, int i, const void *data, size_t len)
{
	/* A NULL pointer would bind SQL NULL: an empty item is an empty blob. */
	if (len == 0)
		return sqlite3_bind_zeroblob(st, i, 0);
	return sqlite3_bind_blob64(st, i, data, len, SQLITE_STATIC);
}

/* The proof hash and envelope header of an encrypted item at parameters i
 * and i + 1, or two NULLs. */
static void bind_e2e(sqlite3_stmt *st, int i, const lks_item *it)
{
	if (it->encrypted) {
		sqlite3_bind_blob(st, i, it->proof_hash, LKS_HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(st, i + 1, it->envelope_header, LKS_ENVELOPE_HEADER_BYTES,
				  SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, i);
		sqlite3_bind_null(st, i + 1);
	}
}

static char *col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? strdup((const char *)t) : NULL;
}

static void col_hash(sqlite3_stmt *st, int i, uint8_t out[LKS_HASH_BYTES])
{
	const void *b = sqlite3_column_blob(st, i);

	memset(out, 0, LKS_HASH_BYTES);
	if (b != NULL && sqlite3_column_bytes(st, i) == LKS_HASH_BYTES)
		memcpy(out, b, LKS_HASH_BYTES);
}

/* Builds an item from the META_COLS of the current row. */
static int row_item(lks_item **out, sqlite3_stmt *st)
{
	lks_item *it = calloc(1, sizeof(*it));
	const unsigned char *id = sqlite3_column_text(st, 0);

	*out = NULL;
	if (it == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	snprintf(it->id, sizeof(it->id), "%s", id ? (const char *)id : "");
	it->kind = (lks_kind)sqlite3_column_int(st, 1);
	it->type = col_strdup(st, 2);
	it->name = col_strdup(st, 3);
	it->summary = col_strdup(st, 4);
	it->size = sqlite3_column_int64(st, 5);
	it->created_at = sqlite3_column_int64(st, 6);
	it->updated_at = sqlite3_column_int64(st, 7);
	it->expires_at = sqlite3_column_int64(st, 8);
	it->version = sqlite3_column_int64(st, 9);
	it->reads_left = sqlite3_column_int64(st, 10);
	col_hash(st, 11, it->token_hash);
	col_hash(st, 12, it->content_hash);
	/* Only a complete proof hash and header make an encrypted item. */
	if (sqlite3_column_type(st, 13) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 13) == LKS_HASH_BYTES &&
	    sqlite3_column_type(st, 14) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 14) == LKS_ENVELOPE_HEADER_BYTES) {
		it->encrypted = 1;
		memcpy(it->proof_hash, sqlite3_column_blob(st, 13), LKS_HASH_BYTES);
		memcpy(it->envelope_header, sqlite3_column_blob(st, 14),
		       LKS_ENVELOPE_HEADER_BYTES);
	}
	if (it->type == NULL || (sqlite3_column_type(st, 3) != SQLITE_NULL && it->name == NULL) ||
	    (sqlite3_column_type(st, 4) != SQLITE_NULL && it->summary == NULL)) {
		lks_item_free(it);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	*out = it;
	return 0;
}

#define STORE(x) ((struct sqlite_store *)(x))
#define CONN_OR_FAIL(c, s)                     \
	do {                                   \
		(c) = thread_conn(STORE(s));   \
		if ((c) == NULL)               \
			return LKS_ESTORE;     \
	} while (0)

/* Inserts one item and its content inside the caller's transaction. */
static int insert_one(struct conn *c, const lks_item *it, const void *content, size_t len)
{
	sqlite3_stmt *st = stmt(c, ST_INSERT_ITEM);
	int rc;

	sqlite3_bind_text(st, 1, it->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)it->kind);
	sqlite3_bind_text(st, 3, it->type, -1, SQLITE_STATIC);
	bind_text_or_null(st, 4, it->name);
	bind_text_or_null(st, 5, it->summary);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)len);
	sqlite3_bind_int64(st, 7, it->created_at);
	sqlite3_bind_int64(st, 8, it->updated_at);
	sqlite3_bind_int64(st, 9, it->expires_at);
	sqlite3_bind_int64(st, 10, it->version);
	sqlite3_bind_int64(st, 11, it->reads_left);
	sqlite3_bind_blob(st, 12, it->token_hash, LKS_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(st, 13, it->content_hash, LKS_HASH_BYTES, SQLITE_STATIC);
	bind_e2e(st, 14, it);
	rc = exec_stmt(c, st, "insert");
	if (rc < 0)
		return rc;
	st = stmt(c, ST_INSERT_CONTENT);
	if (bind_blob(st, 1, content, len) != SQLITE_OK)
		return db_error(c->db, "bind");
	return exec_stmt(c, st, "insert content");
}

static int sq_put_batch(lks_store *s, lks_store_put_job *list)
{
	struct conn *c;
	int rc;

	CONN_OR_FAIL(c, s);
	rc = exec_stmt(c, stmt(c, ST_BEGIN), "begin");
	if (rc < 0)
		return rc;
	for (; list != NULL && rc == 0; list = list->next)
		rc = insert_one(c, list->item, list->content, list->len);
	if (rc == 0)
		rc = exec_stmt(c, stmt(c, ST_COMMIT), "commit");
	if (rc < 0)
		rollback(c);
	return rc;
}

/* One item: a batch of one (an item row and a content row, one transaction). */
static int sq_put(lks_store *s, const lks_item *it, const void *content, size_t len)
{
	lks_store_put_job one = {.item = it, .content = content, .len = len};

	return sq_put_batch(s, &one);
}

static int sq_get(lks_store *s, lks_item **out, const char *id, int64_t now)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc, step;

	CONN_OR_FAIL(c, s);
	st = stmt(c, ST_GET);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		rc = row_item(out, st);
	else if (step == SQLITE_DONE)
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
	else
		rc = db_error(c->db, "get");
	sqlite3_reset(st);
	return rc;
}

/* Reads the row of ST_READ into an item and a copy of its content. */
static int read_row(struct conn *c, lks_item **out, void **content, size_t *len, const char *id,
		    int64_t now)
{
	sqlite3_stmt *st = stmt(c, ST_READ);
	int rc, step;

	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
		goto out;
	}
	if (step != SQLITE_ROW) {
		rc = db_error(c->db, "read");
		goto out;
	}
	rc = row_item(out, st);
	if (rc < 0)
		goto out;
	{
		const void *blob = sqlite3_column_blob(st, COL_DATA);
		size_t n = (size_t)sqlite3_column_bytes(st, COL_DATA);

		*content = malloc(n ? n : 1);
		if (*content == NULL) {
			lks_item_free(*out);
			*out = NULL;
			rc = lks_error_set(LKS_ENOMEM, "out of memory");
			goto out;
		}
		if (n > 0)
			memcpy(*content, blob, n);
		*len = n;
	}
out:
	sqlite3_reset(st);
	return rc;
}

static int sq_read(lks_store *s, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	CONN_OR_FAIL(c, s);
	rc = read_row(c, out, content, len, id, now);
	if (rc < 0 || !(flags & LKS_STORE_COUNT) || (*out)->reads_left < 0)
		return rc;
	/* A limited item: read again under the write lock, so that of several
	 * concurrent readers of the last read exactly one gets it. */
	lks_item_free(*out);
	free(*content);
	*out = NULL;
	*content = NULL;
	rc = exec_stmt(c, stmt(c, ST_BEGIN), "begin");
	if (rc < 0)
		return rc;
	rc = read_row(c, out, content, len, id, now);
	if (rc < 0)
		goto fail;
	(*out)->reads_left--;
	st = stmt(c, (*out)->reads_left == 0 ? ST_DELETE : ST_CONSUME);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = exec_stmt(c, st, "consume");
	if (rc < 0)
		goto fail;
	rc = exec_stmt(c, stmt(c, ST_COMMIT), "commit");
	if (rc < 0)
		goto fail;
	return 0;
fail:
	lks_item_free(*out);
	free(*content);
	*out = NULL;
	*content = NULL;
	*len = 0;
	rollback(c);
	return rc;
}

static int sq_update(lks_store *s, lks_item **out, const char *id, const lks_item *ch,
		     const void *content, size_t len, int64_t now)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	CONN_OR_FAIL(c, s);
	rc = exec_stmt(c, stmt(c, ST_BEGIN), "begin");
	if (rc < 0)
		return rc;
	st = stmt(c, ST_UPDATE_ITEM);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_text(st, 3, ch->type, -1, SQLITE_STATIC);
	bind_text_or_null(st, 4, ch->name);
	bind_text_or_null(st, 5, ch->summary);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)len);
	sqlite3_bind_blob(st, 7, ch->content_hash, LKS_HASH_BYTES, SQLITE_STATIC);
	sqlite3_bind_int(st, 8, (int)ch->kind);
	bind_e2e(st, 9, ch);
	rc = exec_stmt(c, st, "update");
	if (rc < 0)
		goto fail;
	if (sqlite3_changes(c->db) == 0) {
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
		goto fail;
	}
	st = stmt(c, ST_UPDATE_CONTENT);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (bind_blob(st, 2, content, len) != SQLITE_OK) {
		rc = db_error(c->db, "bind");
		goto fail;
	}
	rc = exec_stmt(c, st, "update content");
	if (rc < 0)
		goto fail;
	if (out != NULL) {
		st = stmt(c, ST_GET);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, now);
		rc = sqlite3_step(st) == SQLITE_ROW ? row_item(out, st) : db_error(c->db, "get");
		sqlite3_reset(st);
		if (rc < 0)
			goto fail;
	}
	rc = exec_stmt(c, stmt(c, ST_COMMIT), "commit");
	if (rc < 0)
		goto fail;
	return 0;
fail:
	if (out != NULL) {
		lks_item_free(*out);
		*out = NULL;
	}
	rollback(c);
	return rc;
}

static int sq_delete(lks_store *s, const char *id)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	CONN_OR_FAIL(c, s);
	st = stmt(c, ST_DELETE);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = exec_stmt(c, st, "delete");
	if (rc < 0)
		return rc;
	if (sqlite3_changes(c->db) == 0)
		return lks_error_set(LKS_ENOTFOUND, "no such item");
	return 0;
}

static int sq_sweep(lks_store *s, unsigned *purged, int64_t now, unsigned batch)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc;

	CONN_OR_FAIL(c, s);
	st = stmt(c, ST_SWEEP);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, batch);
	rc = exec_stmt(c, st, "sweep");
	if (rc < 0)
		return rc;
	*purged = (unsigned)sqlite3_changes(c->db);
	return 0;
}

/* One value of a PRAGMA that answers a number, or -1. */
static int64_t pragma_value(sqlite3 *db, const char *pragma)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, pragma, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Giving free pages back costs SQLite more per page the longer its free list
 * is (each page taken off the end of the file is first searched for in the
 * list's trunk pages): a list of a few thousand pages goes quickly, a
 * million took longer than twelve minutes of a core. A long list is given
 * back by VACUUM instead when it is most of the file and what is left to
 * copy is small (a mass expiry: VACUUM copies only the live rows, holding
 * the write lock meanwhile, so creates wait that long); otherwise it is left
 * for new items to reuse. */
#define COMPACT_PAGES_MAX 4096           /* a free list given back page by page */
#define VACUUM_LIVE_MAX (64 * 1024 * 1024) /* live bytes a VACUUM may copy */

static int sq_compact(lks_store *s)
{
	struct conn *c;
	int64_t free_pages, pages, page_size;
	int log, copied;

	CONN_OR_FAIL(c, s);
	free_pages = pragma_value(c->db, "PRAGMA freelist_count");
	pages = pragma_value(c->db, "PRAGMA page_count");
	page_size = pragma_value(c->db, "PRAGMA page_size");
	if (free_pages < 0 || pages < 0 || page_size < 0)
		return db_error(c->db, "compact");
	if (free_pages > COMPACT_PAGES_MAX) {
		c->last_free_pages = INT64_MAX;
		if (free_pages * 2 < pages || (pages - free_pages) * page_size > VACUUM_LIVE_MAX)
			return 0; /* reused by new items */
		if (sqlite3_exec(c->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
			return db_error(c->db, "vacuum");
		goto done;
	}
	/* A few hundred pages at a time keeps the write lock short. */
	if (free_pages > 0 &&
	    sqlite3_exec(c->db, "PRAGMA incremental_vacuum(256)", NULL, NULL, NULL) != SQLITE_OK)
		return db_error(c->db, "vacuum");
	free_pages = pragma_value(c->db, "PRAGMA freelist_count");
	/* More to do only if this round made progress: never spin. */
	if (free_pages > 0 && free_pages < c->last_free_pages) {
		c->last_free_pages = free_pages;
		return 1;
	}
	c->last_free_pages = INT64_MAX;
done:
	/* The file shrinks when the WAL is copied back (waiting for no one). */
	checkpoint(STORE(s), c->db, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
	return 0;
}

static int sq_count(lks_store *s, int64_t *count)
{
	struct conn *c;
	sqlite3_stmt *st;
	int rc = 0;

	CONN_OR_FAIL(c, s);
	st = stmt(c, ST_COUNT);
	if (sqlite3_step(st) == SQLITE_ROW)
		*count = sqlite3_column_int64(st, 0);
	else
		rc = db_error(c->db, "count");
	sqlite3_reset(st);
	return rc;
}

/* The checkpointer: copies the WAL into the database when the commits ask
 * (CKPT_PAGES new frames), retries each tick a checkpoint that readers or
 * new commits kept from the end, and gives back the space of a large WAL
 * once the store has been idle for a tick. Its connection has the store's
 * synchronous setting, so its checkpoints sync the WAL before copying and
 * the database after, as the automatic ones did. */
static void *checkpointer(void *arg)
{
	struct sqlite_store *s = arg;
	sqlite3 *db = s->ckpt_conn->db;
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
	int64_t idle_bytes = (int64_t)CKPT_PAGES * 4096;
	sqlite3_stmt *st = NULL;
	uint64_t seen = 0;
	int behind = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		idle_bytes = (int64_t)CKPT_PAGES * sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	pthread_mutex_lock(&s->ckpt_lock);
	while (!s->ckpt_stop) {
		struct timespec until;
		struct stat sb;
		int wanted, idle, log, copied;

		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += CKPT_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		while (!s->ckpt_wanted && !s->ckpt_stop &&
		       pthread_cond_timedwait(&s->ckpt_cond, &s->ckpt_lock, &until) != ETIMEDOUT)
			;
		if (s->ckpt_stop)
			break;
		wanted = s->ckpt_wanted;
		s->ckpt_wanted = 0;
		idle = s->commits == seen;
		seen = s->commits;
		pthread_mutex_unlock(&s->ckpt_lock);
		if (wanted || behind) {
			checkpoint(s, db, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
			behind = log < 0 || copied < log;
		} else if (idle && stat(wal, &sb) == 0 && sb.st_size > idle_bytes) {
			/* Nobody commits: copy what is left, then empty the WAL
			 * file. Truncating takes the write lock (a commit
			 * arriving meanwhile waits for it), so only once there
			 * is nothing left to copy or sync; this connection has
			 * no busy timeout, so it waits for no one. */
			checkpoint(s, db, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
			if (log >= 0 && copied == log)
				checkpoint(s, db, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
		}
		pthread_mutex_lock(&s->ckpt_lock);
	}
	pthread_mutex_unlock(&s->ckpt_lock);
	return NULL;
}

static int checkpointer_start(struct sqlite_store *s)
{
	int rc = conn_open(&s->ckpt_conn, s);

	if (rc < 0)
		return rc;
	sqlite3_busy_timeout(s->ckpt_conn->db, 0);
	if (pthread_create(&s->ckpt_thread, NULL, checkpointer, s) != 0)
		return lks_error_set(LKS_ENOMEM, "cannot start the checkpoint thread");
	s->ckpt_running = 1;
	return 0;
}

static void checkpointer_stop(struct sqlite_store *s)
{
	if (s->ckpt_running) {
		pthread_mutex_lock(&s->ckpt_lock);
		s->ckpt_stop = 1;
		pthread_cond_signal(&s->ckpt_cond);
		pthread_mutex_unlock(&s->ckpt_lock);
		pthread_join(s->ckpt_thread, NULL);
		s->ckpt_running = 0;
	}
	conn_free(s->ckpt_conn);
	s->ckpt_conn = NULL;
}

static void sq_close(lks_store *base)
{
	struct sqlite_store *s = STORE(base);
	struct conn *c = s->conns;

	/* The checkpointer first: it uses the store. Then the last connection
	 * closed copies the WAL into the database and deletes it, as before. */
	checkpointer_stop(s);
	while (c != NULL) {
		struct conn *next = c->next;
		conn_free(c);
		c = next;
	}
	pthread_key_delete(s->key);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->ckpt_cond);
	pthread_mutex_destroy(&s->ckpt_lock);
	pthread_mutex_destroy(&s->ckpt_run);
	free(s->path);
	free(s);
}

static const struct lks_store_ops sqlite_ops = {
	.name = "sqlite",
	.close = sq_close,
	.put = sq_put,
	.put_batch = sq_put_batch,
	.get = sq_get,
	.read = sq_read,
	.update = sq_update,
	.del = sq_delete,
	.sweep = sq_sweep,
	.compact = sq_compact,
	.count = sq_count,
};

/* Creates the directory that will hold the database, if missing (one level). */
static int ensure_dir(const char *path)
{
	char *dir = strdup(path);
	char *slash;
	int rc = 0;

	if (dir == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			rc = lks_error_set(LKS_ESTORE, "cannot create %s: %s", dir, strerror(errno));
	}
	free(dir);
	return rc;
}

/* Creates or migrates the schema, once, on a connection of its own. */
static int migrate(struct sqlite_store *s)
{
	struct conn *c = NULL;
	sqlite3_stmt *st = NULL;
	int rc, version = 0;

	rc = conn_open(&c, s);
	if (rc < 0)
		return rc;
	if (sqlite3_exec(c->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(c->db, "migrate");
		goto out;
	}
	if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (version > SCHEMA_VERSION) {
		rc = lks_error_set(LKS_ESTORE,
				   "%s has schema version %d, newer than this linksyncd knows (%d)",
				   s->path, version, SCHEMA_VERSION);
		goto out;
	}
	/* Each step in the same transaction: a crash leaves the old version. */
	if (version < 1 &&
	    (sqlite3_exec(c->db, schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
	     sqlite3_exec(c->db, "PRAGMA user_version=1", NULL, NULL, NULL) != SQLITE_OK)) {
		rc = db_error(c->db, "migrate");
		goto out;
	}
	if (version < 2 &&
	    (sqlite3_exec(c->db, schema_v2, NULL, NULL, NULL) != SQLITE_OK ||
	     sqlite3_exec(c->db, "PRAGMA user_version=2", NULL, NULL, NULL) != SQLITE_OK)) {
		rc = db_error(c->db, "migrate");
		goto out;
	}
	if (sqlite3_exec(c->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = db_error(c->db, "migrate");
		goto out;
	}
	/* Stores made before auto_vacuum was set could never give space back:
	 * convert them once (VACUUM rewrites the file). */
	if (sqlite3_prepare_v2(c->db, "PRAGMA auto_vacuum", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 2) {
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_exec(c->db, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM", NULL, NULL, NULL) !=
		    SQLITE_OK)
			rc = db_error(c->db, "vacuum");
	}
	sqlite3_finalize(st);
out:
	if (rc < 0 && !sqlite3_get_autocommit(c->db))
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	conn_free(c);
	return rc;
}

int lks_store_sqlite_open(lks_store **out, const char *path, const lks_store_options *opts)
{
	struct sqlite_store *s = NULL;
	pthread_condattr_t attr;
	int rc;

	if (*path == '\0')
		return lks_error_set(LKS_EINVAL, "sqlite: needs a file path");
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	s->base.ops = &sqlite_ops;
	s->sync_full = opts->sync_full;
	s->path = strdup(path);
	if (s->path == NULL || pthread_key_create(&s->key, NULL) != 0) {
		free(s->path);
		free(s);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->ckpt_run, NULL);
	pthread_mutex_init(&s->ckpt_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->ckpt_cond, &attr);
	pthread_condattr_destroy(&attr);
	rc = ensure_dir(path);
	if (rc == 0)
		rc = migrate(s);
	if (rc == 0)
		rc = checkpointer_start(s);
	if (rc < 0) {
		sq_close(&s->base);
		return rc;
	}
	*out = &s->base;
	return 0;
}
