/* The PostgreSQL backend (libpq): any number of linksyncd nodes share one
 * database. Each store keeps a small pool of connections, each with its
 * statements prepared once; parameters and results travel in binary (content
 * is bytea, never escaped into SQL text). Every operation is one statement, so
 * it is atomic across nodes: a counted read is an UPDATE ... RETURNING that the
 * row lock serialises, and sweeps from several nodes skip each other's rows. */
#include "backend.h"
#include "linksync/error.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 2
#define POOL_DEFAULT 4
#define POOL_MAX 64
#define POOL_WAIT_SECONDS 30
#define CONNECT_TIMEOUT "5" /* seconds, unless the URL says otherwise */
/* PostgreSQL refuses a field above 1 GiB; stay clear of the protocol's limit. */
#define CONTENT_MAX (((size_t)1 << 30) - 4096)

/* Key of the advisory lock that serialises migrations (any constant: it only
 * has to be the same for every linksyncd on a database). */
#define MIGRATE_LOCK "SELECT pg_advisory_xact_lock(1819964275, 1)"

/* OIDs of the built-in types the statements bind (fixed in pg_type.dat). */
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

/* ------------------------------------------------------------------------ */
/* Schema and statements */

/* Schema version 1: one table. An UPDATE writes a new row version, but a
 * large value lives out of line (TOAST) and the new version shares it, so a
 * consumed read or a metadata change does not copy the content. The partial
 * index finds used-up rows for the sweeper without a scan. */
static const char *const migrations[SCHEMA_VERSION + 1] = {
	[1] = "CREATE TABLE items ("
	      " id text COLLATE \"C\" PRIMARY KEY,"
	      " kind integer NOT NULL,"
	      " type text NOT NULL,"
	      " name text,"
	      " summary text,"
	      " size bigint NOT NULL,"
	      " created_at bigint NOT NULL,"
	      " updated_at bigint NOT NULL,"
	      " expires_at bigint NOT NULL,"
	      " version bigint NOT NULL,"
	      " reads_left bigint NOT NULL,"
	      " token_hash bytea NOT NULL,"
	      " content_hash bytea NOT NULL,"
	      " data bytea NOT NULL);"
	      "CREATE INDEX items_expires ON items (expires_at);"
	      "CREATE INDEX items_used_up ON items (id) WHERE reads_left = 0;",
	/* Version 2: end-to-end encrypted items keep the SHA-256 of their read
	 * proof and their envelope's public header (NULL for other items).
	 * Adding nullable columns without a default rewrites no row. */
	[2] = "ALTER TABLE items ADD COLUMN proof_hash bytea,"
	      " ADD COLUMN envelope_header bytea;",
};

enum {
	ST_INSERT,
	ST_GET,
	ST_READ,
	ST_READ_COUNT,
	ST_DROP_USED,
	ST_UPDATE,
	ST_DELETE,
	ST_SWEEP,
	ST_COUNT,
	ST__N
};

#define META_COLS                                                                   \
	"id, kind, type, name, summary, size, created_at, updated_at, expires_at, " \
	"version, reads_left, token_hash, content_hash, proof_hash, envelope_header"
#define COL_DATA 15
#define LIVE "expires_at > $2 AND reads_left <> 0"
#define MAX_PARAMS 16

struct statement {
	const char *name;
	const char *sql;
	int nparams;
	Oid types[MAX_PARAMS];
};

/* Change notifications (lks_store_watch): one channel per schema, since one
 * database may hold several linksync schemas (a channel name must stay under
 * 64 bytes, hence the digest). The payload is "id version", version 0 when
 * the item is gone. pg_notify in the statement itself is sent at its commit,
 * and never for a change that rolled back. The notifying column comes last,
 * after every column the row readers look at. */
#define CHANNEL "'linksync_' || md5(current_schema())"
#define NOTIFY_CHANGED "pg_notify(" CHANNEL ", id || ' ' || version)"
#define NOTIFY_GONE "pg_notify(" CHANNEL ", id || ' 0')"

#define T OID_TEXT
#define I4 OID_INT4
#define I8 OID_INT8
#define B OID_BYTEA
static const struct statement statements[ST__N] = {
	[ST_INSERT] = {"lks_insert",
		       "INSERT INTO items (" META_COLS ", data) VALUES "
		       "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		       16,
		       {T, I4, T, T, T, I8, I8, I8, I8, I8, I8, B, B, B, B, B}},
	[ST_GET] = {"lks_get", "SELECT " META_COLS " FROM items WHERE id = $1 AND " LIVE, 2,
		    {T, I8}},
	[ST_READ] = {"lks_read", "SELECT " META_COLS ", data FROM items WHERE id = $1 AND " LIVE, 2,
		     {T, I8}},
	/* A limited item loses one read in the UPDATE, which waits for the row
	 * lock and re-checks reads_left on the newest version: of concurrent
	 * readers through any nodes, exactly as many succeed as reads were
	 * left. An unlimited item (reads_left < 0) comes from the SELECT; the
	 * two branches never both match. */
	[ST_READ_COUNT] = {"lks_read_count",
			   "WITH used AS (UPDATE items SET reads_left = reads_left - 1 "
			   "WHERE id = $1 AND expires_at > $2 AND reads_left > 0 "
			   "RETURNING " META_COLS ", data) "
			   "SELECT * FROM used UNION ALL SELECT " META_COLS ", data FROM items "
			   "WHERE id = $1 AND expires_at > $2 AND reads_left < 0",
			   2,
			   {T, I8}},
	[ST_DROP_USED] = {"lks_drop_used",
			  "WITH gone AS (DELETE FROM items WHERE id = $1 AND reads_left = 0 "
			  "RETURNING id) SELECT " NOTIFY_GONE " FROM gone",
			  1,
			  {T}},
	[ST_UPDATE] = {"lks_update",
		       "WITH changed AS (UPDATE items SET type = $3, name = $4, summary = $5, size = $6, "
		       "content_hash = $7, kind = $8, data = $9, proof_hash = $10, "
		       "envelope_header = $11, updated_at = $2, "
		       "version = version + 1 WHERE id = $1 AND " LIVE " RETURNING " META_COLS ") "
		       "SELECT *, " NOTIFY_CHANGED " FROM changed",
		       11,
		       {T, I8, T, T, T, I8, B, I4, B, B, B}},
	[ST_DELETE] = {"lks_delete",
		       "WITH gone AS (DELETE FROM items WHERE id = $1 RETURNING id) "
		       "SELECT " NOTIFY_GONE " FROM gone",
		       1,
		       {T}},
	/* SKIP LOCKED: sweepers on several nodes take disjoint rows instead of
	 * waiting for each other (a row a reader holds waits for the next
	 * sweep). Expired and used-up rows are two branches, each on its own
	 * index, and the deletion goes through the primary key: with "expired
	 * OR used up" in one WHERE, the generic plan of a prepared statement
	 * scans the whole table (seconds at a million rows). The second branch
	 * runs only when the first does not fill the batch. */
	[ST_SWEEP] = {"lks_sweep",
		      "WITH expired AS (SELECT id FROM items WHERE expires_at <= $1 "
		      "ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED), "
		      "used AS (SELECT id FROM items WHERE reads_left = 0 "
		      "LIMIT $2 FOR UPDATE SKIP LOCKED) "
		      "DELETE FROM items WHERE id = ANY (ARRAY (SELECT id FROM expired "
		      "UNION ALL SELECT id FROM used LIMIT $2))",
		      2,
		      {I8, I8}},
	[ST_COUNT] = {"lks_count", "SELECT count(*) FROM items", 0, {0}},
};
#undef T
#undef I4
#undef I8
#undef B

/* ------------------------------------------------------------------------ */
/* The store and its pool */

struct conn {
	PGconn *pg;
	struct conn *next; /* in the idle list */
};

struct pg_store {
	struct lks_store base;
	/* libpq's connection keywords and values (NULL-terminated), the
	 * password among them but never in a message. */
	char **keys;
	char **vals;
	unsigned size; /* connections at most */
	pthread_mutex_t lock;
	pthread_cond_t freed; /* a connection went back or a slot opened */
	struct conn *idle;
	unsigned opened; /* connections that exist or are being opened */
	struct watch *watch; /* lks_store_watch's listener, or NULL */
};

#define STORE(x) ((struct pg_store *)(x))

/* The text of a libpq message on one line, without its trailing newline. */
static void flatten(char *dst, size_t dstsz, const char *msg)
{
	size_t n = 0;
	int space = 0;

	for (; msg != NULL && *msg != '\0' && n + 1 < dstsz; msg++) {
		if (*msg == '\n' || *msg == '\t' || *msg == '\r') {
			space = 1;
			continue;
		}
		if (space && n > 0)
			dst[n++] = ' ';
		space = 0;
		if (n + 1 < dstsz)
			dst[n++] = *msg;
	}
	dst[n] = '\0';
}

/* "host=... port=... dbname=... user=..." of a connection, for messages. */
static void describe(char *dst, size_t dstsz, PGconn *pg)
{
	const char *host = pg ? PQhost(pg) : NULL;
	const char *port = pg ? PQport(pg) : NULL;
	const char *db = pg ? PQdb(pg) : NULL;
	const char *user = pg ? PQuser(pg) : NULL;

	snprintf(dst, dstsz, "host=%s port=%s dbname=%s user=%s",
		 host && *host ? host : "(default)", port && *port ? port : "(default)",
		 db && *db ? db : "(default)", user && *user ? user : "(default)");
}

/* Records a failed statement or connection as LKS_ESTORE. */
static int pg_error(PGconn *pg, const PGresult *r, const char *what)
{
	char msg[512];
	const char *text = r != NULL ? PQresultErrorMessage(r) : "";

	if (text == NULL || *text == '\0')
		text = pg ? PQerrorMessage(pg) : "out of memory";
	flatten(msg, sizeof(msg), text);
	return lks_error_set(LKS_ESTORE, "postgres %s: %s", what, msg);
}

/* Discards notices ("relation already exists, skipping"): libpq would print
 * them on stderr. */
static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void conn_free(struct conn *c)
{
	if (c == NULL)
		return;
	PQfinish(c->pg);
	free(c);
}

static int conn_prepare(struct conn *c)
{
	for (int i = 0; i < ST__N; i++) {
		const struct statement *st = &statements[i];
		PGresult *r = PQprepare(c->pg, st->name, st->sql, st->nparams, st->types);
		int rc = 0;

		if (PQresultStatus(r) != PGRES_COMMAND_OK)
			rc = pg_error(c->pg, r, "prepare");
		PQclear(r);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Opens one connection, without preparing its statements. */
static int conn_connect(struct conn **out, struct pg_store *s)
{
	struct conn *c = calloc(1, sizeof(*c));
	char where[300], msg[512];
	int rc;

	*out = NULL;
	if (c == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	c->pg = PQconnectdbParams((const char *const *)s->keys, (const char *const *)s->vals, 0);
	if (c->pg == NULL) {
		free(c);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	if (PQstatus(c->pg) != CONNECTION_OK) {
		describe(where, sizeof(where), c->pg);
		flatten(msg, sizeof(msg), PQerrorMessage(c->pg));
		rc = lks_error_set(LKS_ESTORE, "cannot connect to PostgreSQL (%s): %s", where, msg);
		conn_free(c);
		return rc;
	}
	PQsetNoticeProcessor(c->pg, quiet, NULL);
	*out = c;
	return 0;
}

/* A connection ready for the statements. */
static int conn_open(struct conn **out, struct pg_store *s)
{
	struct conn *c = NULL;
	int rc = conn_connect(&c, s);

	*out = NULL;
	if (rc < 0)
		return rc;
	rc = conn_prepare(c);
	if (rc < 0) {
		conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

/* Takes a connection from the pool, opening one while fewer than size exist,
 * else waiting (at most POOL_WAIT_SECONDS) for one to come back. */
static int acquire(struct pg_store *s, struct conn **out)
{
	struct timespec until;
	struct conn *c = NULL;
	int rc;

	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += POOL_WAIT_SECONDS;
	pthread_mutex_lock(&s->lock);
	while (s->idle == NULL && s->opened >= s->size) {
		if (pthread_cond_timedwait(&s->freed, &s->lock, &until) == ETIMEDOUT &&
		    s->idle == NULL && s->opened >= s->size) {
			pthread_mutex_unlock(&s->lock);
			return lks_error_set(LKS_ESTORE,
					     "postgres: all %u connections busy for %d s", s->size,
					     POOL_WAIT_SECONDS);
		}
	}
	if (s->idle != NULL) {
		c = s->idle;
		s->idle = c->next;
		c->next = NULL;
		pthread_mutex_unlock(&s->lock);
		*out = c;
		return 0;
	}
	s->opened++;
	pthread_mutex_unlock(&s->lock);
	/* Connect outside the lock: it takes a round trip or a timeout. */
	rc = conn_open(&c, s);
	if (rc < 0) {
		pthread_mutex_lock(&s->lock);
		s->opened--;
		pthread_cond_signal(&s->freed);
		pthread_mutex_unlock(&s->lock);
		return rc;
	}
	*out = c;
	return 0;
}

/* Returns a connection to the pool, or closes it when it is broken (the
 * next acquire opens a fresh one). */
static void release(struct pg_store *s, struct conn *c)
{
	int broken = PQstatus(c->pg) != CONNECTION_OK;

	if (!broken && PQtransactionStatus(c->pg) != PQTRANS_IDLE) {
		/* Every operation is one statement; this is only defensive. */
		PQclear(PQexec(c->pg, "ROLLBACK"));
		broken = PQtransactionStatus(c->pg) != PQTRANS_IDLE;
	}
	if (broken) {
		conn_free(c);
		c = NULL;
	}
	pthread_mutex_lock(&s->lock);
	if (c != NULL) {
		c->next = s->idle;
		s->idle = c;
	} else {
		s->opened--;
	}
	pthread_cond_signal(&s->freed);
	pthread_mutex_unlock(&s->lock);
}

/* Runs op on a pooled connection. When it fails because the connection broke
 * (the server restarted, or an idle connection was cut), reconnects and runs
 * it once more. A statement whose answer was lost may have committed: a put
 * then fails as a duplicate, and a counted read may consume a read nobody got,
 * but never delivers one twice. */
static int run(struct pg_store *s, int (*op)(PGconn *pg, void *arg), void *arg)
{
	struct conn *c = NULL;
	int rc = acquire(s, &c);

	if (rc < 0)
		return rc;
	rc = op(c->pg, arg);
	if (rc == LKS_ESTORE && PQstatus(c->pg) != CONNECTION_OK) {
		PQreset(c->pg);
		if (PQstatus(c->pg) != CONNECTION_OK) {
			char where[300], msg[512];

			describe(where, sizeof(where), c->pg);
			flatten(msg, sizeof(msg), PQerrorMessage(c->pg));
			rc = lks_error_set(LKS_ESTORE, "cannot reconnect to PostgreSQL (%s): %s",
					   where, msg);
		} else {
			PQsetNoticeProcessor(c->pg, quiet, NULL);
			rc = conn_prepare(c);
			if (rc == 0)
				rc = op(c->pg, arg);
		}
	}
	release(s, c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* Parameters and results */

struct params {
	int n;
	const char *v[MAX_PARAMS];
	int len[MAX_PARAMS];
	int fmt[MAX_PARAMS];
	unsigned char num[MAX_PARAMS][8]; /* binary integers, big-endian */
};

/* Text, or SQL NULL when s is NULL. */
static void p_text(struct params *p, const char *s)
{
	p->v[p->n] = s;
	p->len[p->n] = 0;
	p->fmt[p->n] = 0;
	p->n++;
}

static void p_int8(struct params *p, int64_t x)
{
	uint64_t be = htobe64((uint64_t)x);

	memcpy(p->num[p->n], &be, 8);
	p->v[p->n] = (const char *)p->num[p->n];
	p->len[p->n] = 8;
	p->fmt[p->n] = 1;
	p->n++;
}

static void p_int4(struct params *p, int32_t x)
{
	uint32_t be = htobe32((uint32_t)x);

	memcpy(p->num[p->n], &be, 4);
	p->v[p->n] = (const char *)p->num[p->n];
	p->len[p->n] = 4;
	p->fmt[p->n] = 1;
	p->n++;
}

/* bytea in binary; len must be below CONTENT_MAX (checked by the callers).
 * Zero bytes are an empty value, not NULL. */
static void p_bytes(struct params *p, const void *data, size_t len)
{
	p->v[p->n] = len > 0 ? (const char *)data : "";
	p->len[p->n] = (int)len;
	p->fmt[p->n] = 1;
	p->n++;
}

/* The proof hash and envelope header of an encrypted item, or two NULLs. */
static void p_e2e(struct params *p, const lks_item *it)
{
	if (it->encrypted) {
		p_bytes(p, it->proof_hash, LKS_HASH_BYTES);
		p_bytes(p, it->envelope_header, LKS_ENVELOPE_HEADER_BYTES);
	} else {
		p_text(p, NULL);
		p_text(p, NULL);
	}
}

/* Runs a prepared statement with binary results; *out is the result when its
 * status is want. */
static int exec(PGconn *pg, PGresult **out, int which, const struct params *p,
		ExecStatusType want, const char *what)
{
	PGresult *r = PQexecPrepared(pg, statements[which].name, p ? p->n : 0, p ? p->v : NULL,
				     p ? p->len : NULL, p ? p->fmt : NULL, 1);
	int rc;

	*out = NULL;
	if (PQresultStatus(r) != want) {
		rc = pg_error(pg, r, what);
		PQclear(r);
		return rc;
	}
	*out = r;
	return 0;
}

static int64_t get_int8(const PGresult *r, int col)
{
	uint64_t be;

	if (PQgetisnull(r, 0, col) || PQgetlength(r, 0, col) != 8)
		return 0;
	memcpy(&be, PQgetvalue(r, 0, col), 8);
	return (int64_t)be64toh(be);
}

static int32_t get_int4(const PGresult *r, int col)
{
	uint32_t be;

	if (PQgetisnull(r, 0, col) || PQgetlength(r, 0, col) != 4)
		return 0;
	memcpy(&be, PQgetvalue(r, 0, col), 4);
	return (int32_t)be32toh(be);
}

/* A copy of a text column of row 0; *ok becomes 0 when memory runs out. */
static char *get_text(const PGresult *r, int col, int *ok)
{
	char *t;

	if (PQgetisnull(r, 0, col))
		return NULL;
	t = strndup(PQgetvalue(r, 0, col), (size_t)PQgetlength(r, 0, col));
	if (t == NULL)
		*ok = 0;
	return t;
}

static void get_hash(const PGresult *r, int col, uint8_t out[LKS_HASH_BYTES])
{
	memset(out, 0, LKS_HASH_BYTES);
	if (!PQgetisnull(r, 0, col) && PQgetlength(r, 0, col) == LKS_HASH_BYTES)
		memcpy(out, PQgetvalue(r, 0, col), LKS_HASH_BYTES);
}

/* Builds an item from the META_COLS of row 0. */
static int row_item(lks_item **out, const PGresult *r)
{
	lks_item *it = calloc(1, sizeof(*it));
	int ok = 1;

	*out = NULL;
	if (it == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	snprintf(it->id, sizeof(it->id), "%.*s", PQgetlength(r, 0, 0), PQgetvalue(r, 0, 0));
	it->kind = (lks_kind)get_int4(r, 1);
	it->type = get_text(r, 2, &ok);
	it->name = get_text(r, 3, &ok);
	it->summary = get_text(r, 4, &ok);
	it->size = get_int8(r, 5);
	it->created_at = get_int8(r, 6);
	it->updated_at = get_int8(r, 7);
	it->expires_at = get_int8(r, 8);
	it->version = get_int8(r, 9);
	it->reads_left = get_int8(r, 10);
	get_hash(r, 11, it->token_hash);
	get_hash(r, 12, it->content_hash);
	/* Only a complete proof hash and header make an encrypted item. */
	if (!PQgetisnull(r, 0, 13) && PQgetlength(r, 0, 13) == LKS_HASH_BYTES &&
	    !PQgetisnull(r, 0, 14) && PQgetlength(r, 0, 14) == LKS_ENVELOPE_HEADER_BYTES) {
		it->encrypted = 1;
		memcpy(it->proof_hash, PQgetvalue(r, 0, 13), LKS_HASH_BYTES);
		memcpy(it->envelope_header, PQgetvalue(r, 0, 14), LKS_ENVELOPE_HEADER_BYTES);
	}
	if (!ok || it->type == NULL) {
		lks_item_free(it);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	*out = it;
	return 0;
}

/* The item and a malloc'd copy of the content (never NULL) of row 0. */
static int row_item_content(lks_item **out, void **content, size_t *len, const PGresult *r)
{
	size_t n = (size_t)PQgetlength(r, 0, COL_DATA);
	void *copy = malloc(n ? n : 1);
	int rc;

	if (copy == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	rc = row_item(out, r);
	if (rc < 0) {
		free(copy);
		return rc;
	}
	if (n > 0)
		memcpy(copy, PQgetvalue(r, 0, COL_DATA), n);
	*content = copy;
	*len = n;
	return 0;
}

static int content_fits(size_t len)
{
	if (len >= CONTENT_MAX || len > INT_MAX)
		return lks_error_set(LKS_ESTORE, "postgres: %zu bytes is more than a field holds",
				     len);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Operations: each runs on one connection, leaves nothing behind when it
 * fails (so run() may try it again), and is one statement. */

struct op_put {
	const lks_item *item;
	const void *content;
	size_t len;
};

/* The parameters of ST_INSERT for a's item. */
static void put_params(struct params *p, const struct op_put *a)
{
	const lks_item *it = a->item;

	p_text(p, it->id);
	p_int4(p, (int32_t)it->kind);
	p_text(p, it->type);
	p_text(p, it->name);
	p_text(p, it->summary);
	p_int8(p, (int64_t)a->len);
	p_int8(p, it->created_at);
	p_int8(p, it->updated_at);
	p_int8(p, it->expires_at);
	p_int8(p, it->version);
	p_int8(p, it->reads_left);
	p_bytes(p, it->token_hash, LKS_HASH_BYTES);
	p_bytes(p, it->content_hash, LKS_HASH_BYTES);
	p_e2e(p, it); /* META_COLS end with these two, then data */
	p_bytes(p, a->content, a->len);
}

static int op_put(PGconn *pg, void *arg)
{
	struct op_put *a = arg;
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	put_params(&p, a);
	rc = exec(pg, &r, ST_INSERT, &p, PGRES_COMMAND_OK, "insert");
	PQclear(r);
	return rc;
}

/* A batch of puts in one transaction and one round trip (group.c): every
 * insert is sent at once in a pipeline, whose statements up to its sync
 * point form one implicit transaction, committed at the sync (or rolled
 * back, should any of them fail). */
static int op_put_batch(PGconn *pg, void *arg)
{
	PGresult *r;
	int rc = 0, sent = 0, ok = 0, ends = 0;

	if (!PQenterPipelineMode(pg))
		return pg_error(pg, NULL, "pipeline");
	for (lks_store_put_job *put = arg; put != NULL; put = put->next) {
		struct op_put a = {put->item, put->content, put->len};
		struct params p = {0};

		put_params(&p, &a);
		if (!PQsendQueryPrepared(pg, statements[ST_INSERT].name, p.n, p.v, p.len, p.fmt, 1))
			return pg_error(pg, NULL, "insert"); /* the connection is gone */
		sent++;
	}
	if (!PQpipelineSync(pg))
		return pg_error(pg, NULL, "commit");
	/* Each insert's result and a NULL after it, then the sync's (an error
	 * of the commit itself comes just before it). */
	for (;;) {
		r = PQgetResult(pg);
		if (r == NULL) {
			if (PQstatus(pg) != CONNECTION_OK || ++ends > sent + 1)
				return rc < 0 ? rc : pg_error(pg, NULL, "commit");
			continue;
		}
		if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
			PQclear(r);
			break;
		}
		if (PQresultStatus(r) == PGRES_COMMAND_OK)
			ok++;
		else if (rc == 0)
			rc = pg_error(pg, r, "insert"); /* the first failure: the rest were skipped */
		PQclear(r);
	}
	if (!PQexitPipelineMode(pg) && rc == 0)
		rc = pg_error(pg, NULL, "pipeline");
	if (rc == 0 && ok != sent)
		rc = lks_error_set(LKS_ESTORE, "postgres commit: %d of %d inserts answered", ok, sent);
	return rc;
}

static int pg_put_batch(lks_store *s, lks_store_put_job *list)
{
	for (lks_store_put_job *put = list; put != NULL; put = put->next)
		if (content_fits(put->len) < 0)
			return LKS_ESTORE;
	return run(STORE(s), op_put_batch, list);
}

static int pg_put(lks_store *s, const lks_item *item, const void *content, size_t len)
{
	struct op_put a = {item, content, len};
	int rc = content_fits(len);

	if (rc < 0)
		return rc;
	return run(STORE(s), op_put, &a);
}

struct op_get {
	lks_item **out;
	const char *id;
	int64_t now;
};

static int op_get(PGconn *pg, void *arg)
{
	struct op_get *a = arg;
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	p_text(&p, a->id);
	p_int8(&p, a->now);
	rc = exec(pg, &r, ST_GET, &p, PGRES_TUPLES_OK, "get");
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
	else
		rc = row_item(a->out, r);
	PQclear(r);
	return rc;
}

static int pg_get(lks_store *s, lks_item **out, const char *id, int64_t now)
{
	struct op_get a = {out, id, now};

	return run(STORE(s), op_get, &a);
}

struct op_read {
	lks_item **out;
	void **content;
	size_t *len;
	const char *id;
	int64_t now;
	unsigned flags;
};

static int op_read(PGconn *pg, void *arg)
{
	struct op_read *a = arg;
	int counted = (a->flags & LKS_STORE_COUNT) != 0;
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	p_text(&p, a->id);
	p_int8(&p, a->now);
	rc = exec(pg, &r, counted ? ST_READ_COUNT : ST_READ, &p, PGRES_TUPLES_OK, "read");
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
	else
		rc = row_item_content(a->out, a->content, a->len, r);
	PQclear(r);
	if (rc == 0 && counted && (*a->out)->reads_left == 0) {
		/* The last read was delivered (committed): delete the row. Nobody
		 * can read it meanwhile (reads_left = 0 is not live), and should
		 * this fail, the sweeper takes used-up rows too. */
		struct params d = {0};

		p_text(&d, a->id);
		if (exec(pg, &r, ST_DROP_USED, &d, PGRES_TUPLES_OK, "delete used") == 0)
			PQclear(r);
		lks_error_clear();
	}
	return rc;
}

static int pg_read(lks_store *s, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags)
{
	struct op_read a = {out, content, len, id, now, flags};

	return run(STORE(s), op_read, &a);
}

struct op_update {
	lks_item **out;
	const char *id;
	const lks_item *ch;
	const void *content;
	size_t len;
	int64_t now;
};

static int op_update(PGconn *pg, void *arg)
{
	struct op_update *a = arg;
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	p_text(&p, a->id);
	p_int8(&p, a->now);
	p_text(&p, a->ch->type);
	p_text(&p, a->ch->name);
	p_text(&p, a->ch->summary);
	p_int8(&p, (int64_t)a->len);
	p_bytes(&p, a->ch->content_hash, LKS_HASH_BYTES);
	p_int4(&p, (int32_t)a->ch->kind);
	p_bytes(&p, a->content, a->len);
	p_e2e(&p, a->ch);
	rc = exec(pg, &r, ST_UPDATE, &p, PGRES_TUPLES_OK, "update");
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0)
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
	else if (a->out != NULL)
		rc = row_item(a->out, r);
	PQclear(r);
	return rc;
}

static int pg_update(lks_store *s, lks_item **out, const char *id, const lks_item *changes,
		     const void *content, size_t len, int64_t now)
{
	struct op_update a = {out, id, changes, content, len, now};
	int rc = content_fits(len);

	if (rc < 0)
		return rc;
	return run(STORE(s), op_update, &a);
}

/* Rows a DELETE removed. */
static unsigned affected(const PGresult *r)
{
	const char *n = PQcmdTuples((PGresult *)r);
	unsigned long v = strtoul(n, NULL, 10);

	return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

static int op_delete(PGconn *pg, void *arg)
{
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	p_text(&p, arg);
	rc = exec(pg, &r, ST_DELETE, &p, PGRES_TUPLES_OK, "delete");
	if (rc < 0)
		return rc;
	if (PQntuples(r) == 0) /* one row per deleted item (its notification) */
		rc = lks_error_set(LKS_ENOTFOUND, "no such item");
	PQclear(r);
	return rc;
}

static int pg_delete(lks_store *s, const char *id)
{
	return run(STORE(s), op_delete, (void *)id);
}

struct op_sweep {
	unsigned *purged;
	int64_t now;
	unsigned batch;
};

static int op_sweep(PGconn *pg, void *arg)
{
	struct op_sweep *a = arg;
	struct params p = {0};
	PGresult *r = NULL;
	int rc;

	p_int8(&p, a->now);
	p_int8(&p, a->batch);
	rc = exec(pg, &r, ST_SWEEP, &p, PGRES_COMMAND_OK, "sweep");
	if (rc < 0)
		return rc;
	*a->purged = affected(r);
	PQclear(r);
	return 0;
}

static int pg_sweep(lks_store *s, unsigned *purged, int64_t now, unsigned batch)
{
	struct op_sweep a = {purged, now, batch};

	return run(STORE(s), op_sweep, &a);
}

static int pg_compact(lks_store *s)
{
	/* Autovacuum gives the space of deleted rows back to the table. */
	(void)s;
	return 0;
}

static int op_count(PGconn *pg, void *arg)
{
	PGresult *r = NULL;
	int rc = exec(pg, &r, ST_COUNT, NULL, PGRES_TUPLES_OK, "count");

	if (rc < 0)
		return rc;
	*(int64_t *)arg = PQntuples(r) == 1 ? get_int8(r, 0) : 0;
	PQclear(r);
	return 0;
}

static int pg_count(lks_store *s, int64_t *count)
{
	return run(STORE(s), op_count, count);
}

static void free_strv(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static void pg_unwatch(lks_store *base);

static void pg_close(lks_store *base)
{
	struct pg_store *s = STORE(base);
	struct conn *c = s->idle;

	pg_unwatch(base);
	while (c != NULL) {
		struct conn *next = c->next;
		conn_free(c);
		c = next;
	}
	pthread_cond_destroy(&s->freed);
	pthread_mutex_destroy(&s->lock);
	free_strv(s->keys);
	free_strv(s->vals);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Change notifications (lks_store_watch): a connection of its own LISTENs on
 * the schema's channel, and a thread waits on its socket. Updates, deletions
 * and the taking of a last read send "id version" on that channel in their
 * own statement (pg_notify, delivered at commit, so never for a change that
 * rolled back). A connection that drops is opened again, with a back-off;
 * the callback is told when it drops and when it is back (changes may have
 * been missed meanwhile). */

#define WATCH_PING_IDLE 30     /* seconds of silence before checking the connection */
#define WATCH_TIMEOUT 10       /* seconds a connect or a statement of the watch may take */
#define WATCH_RETRY_MIN_MS 100 /* back-off between reconnections, doubled up to the max */
#define WATCH_RETRY_MAX_MS 5000

struct watch {
	struct pg_store *s;
	lks_store_change_fn changed;
	void *ctx;
	PGconn *pg;  /* NULL while cut off */
	int stop[2]; /* a pipe: a byte in it stops the thread */
	pthread_t thread;
};

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, the stop pipe has a byte, or the
 * deadline (mono_ms) passes. Returns 1 when ready, 0 at the deadline, 2 when
 * told to stop, -1 on a poll error. fd may be -1 (just wait). */
static int watch_poll(struct watch *w, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd fds[2] = {{w->stop[0], POLLIN, 0}, {fd, events, 0}};
		int64_t left = deadline - mono_ms();
		int n;

		if (left < 0)
			left = 0;
		n = poll(fds, fd >= 0 ? 2 : 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (fds[0].revents != 0)
			return 2;
		if (n == 0)
			return 0;
		return 1;
	}
}

/* Runs sql on the watch's connection without blocking the thread beyond the
 * deadline or a stop. Notifications that arrive meanwhile stay queued in
 * libpq for watch_deliver. Returns 0, 1 when told to stop, or LKS_ESTORE. */
static int watch_exec(struct watch *w, PGconn *pg, const char *sql, ExecStatusType want,
		      PGresult **out)
{
	int64_t deadline = mono_ms() + WATCH_TIMEOUT * 1000;
	PGresult *last = NULL;
	int rc = 0;

	if (out != NULL)
		*out = NULL;
	if (!PQsendQuery(pg, sql))
		return pg_error(pg, NULL, "listen");
	for (;;) {
		int ready;

		while (!PQisBusy(pg)) {
			PGresult *r = PQgetResult(pg);

			if (r == NULL)
				goto done;
			PQclear(last);
			last = r;
		}
		ready = watch_poll(w, PQsocket(pg), POLLIN, deadline);
		if (ready == 2) {
			rc = 1;
			goto out;
		}
		if (ready <= 0) {
			rc = lks_error_set(LKS_ESTORE, "postgres listen: no answer in %d s",
					   WATCH_TIMEOUT);
			goto out;
		}
		if (!PQconsumeInput(pg)) {
			rc = pg_error(pg, NULL, "listen");
			goto out;
		}
	}
done:
	if (PQresultStatus(last) != want) {
		rc = pg_error(pg, last, "listen");
		goto out;
	}
	if (out != NULL) {
		*out = last;
		last = NULL;
	}
out:
	PQclear(last);
	return rc;
}

/* Connects (without blocking beyond WATCH_TIMEOUT or a stop) and LISTENs on
 * the channel of the schema the tables are in. Sets w->pg. Returns 0, 1 when
 * told to stop, LKS_ESTORE or LKS_ENOMEM. */
static int watch_connect(struct watch *w)
{
	int64_t deadline = mono_ms() + WATCH_TIMEOUT * 1000;
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	PGresult *r = NULL;
	PGconn *pg;
	char *channel = NULL, *sql = NULL;
	int rc = 0;

	pg = PQconnectStartParams((const char *const *)w->s->keys,
				  (const char *const *)w->s->vals, 0);
	if (pg == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	while (st != PGRES_POLLING_OK) {
		int ready;

		if (st == PGRES_POLLING_FAILED || PQstatus(pg) == CONNECTION_BAD) {
			char where[300], msg[512];

			describe(where, sizeof(where), pg);
			flatten(msg, sizeof(msg), PQerrorMessage(pg));
			rc = lks_error_set(LKS_ESTORE, "cannot connect to PostgreSQL (%s): %s",
					   where, msg);
			goto out;
		}
		ready = watch_poll(w, PQsocket(pg), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
				   deadline);
		if (ready == 2) {
			rc = 1;
			goto out;
		}
		if (ready <= 0) {
			rc = lks_error_set(LKS_ESTORE, "cannot connect to PostgreSQL: no answer in %d s",
					   WATCH_TIMEOUT);
			goto out;
		}
		st = PQconnectPoll(pg);
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	rc = watch_exec(w, pg, "SELECT " CHANNEL, PGRES_TUPLES_OK, &r);
	if (rc != 0)
		goto out;
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)) {
		rc = lks_error_set(LKS_ESTORE, "postgres listen: no schema in the search_path");
		goto out;
	}
	channel = PQescapeIdentifier(pg, PQgetvalue(r, 0, 0), (size_t)PQgetlength(r, 0, 0));
	if (channel == NULL || asprintf(&sql, "LISTEN %s", channel) < 0) {
		sql = NULL;
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	rc = watch_exec(w, pg, sql, PGRES_COMMAND_OK, NULL);
out:
	PQclear(r);
	PQfreemem(channel);
	free(sql);
	if (rc != 0) {
		PQfinish(pg);
		return rc;
	}
	w->pg = pg;
	return 0;
}

/* Hands every queued notification to the callback. */
static void watch_deliver(struct watch *w)
{
	for (;;) {
		PGnotify *n = PQnotifies(w->pg);
		const char *space;

		if (n == NULL)
			return;
		/* "id version"; anything else on the channel is not ours. */
		space = strchr(n->extra, ' ');
		if (space != NULL && space - n->extra == LKS_ID_LEN) {
			char id[LKS_ID_LEN + 1], *end = NULL;
			long long version;

			memcpy(id, n->extra, LKS_ID_LEN);
			id[LKS_ID_LEN] = '\0';
			errno = 0;
			version = strtoll(space + 1, &end, 10);
			if (errno == 0 && end != space + 1 && *end == '\0' && version >= 0)
				w->changed(w->ctx, id, (int64_t)version);
		}
		PQfreemem(n);
	}
}

static void watch_drop(struct watch *w)
{
	PQfinish(w->pg);
	w->pg = NULL;
}

/* The listening connection failed: drops it and says so, since changes are
 * not heard until it is back. */
static void watch_lost(struct watch *w)
{
	watch_drop(w);
	w->changed(w->ctx, NULL, -1);
}

static void *watch_main(void *arg)
{
	struct watch *w = arg;
	int64_t retry_ms = WATCH_RETRY_MIN_MS;
	int64_t heard = mono_ms(); /* when the server last said anything */

	for (;;) {
		int ready, rc;

		if (w->pg == NULL) {
			if (watch_poll(w, -1, 0, mono_ms() + retry_ms) == 2)
				break;
			rc = watch_connect(w);
			if (rc == 1)
				break;
			if (rc < 0) {
				retry_ms = retry_ms * 2 > WATCH_RETRY_MAX_MS ? WATCH_RETRY_MAX_MS
									 : retry_ms * 2;
				continue;
			}
			retry_ms = WATCH_RETRY_MIN_MS;
			heard = mono_ms();
			w->changed(w->ctx, NULL, 0); /* back: what happened while cut off? */
			continue;
		}
		ready = watch_poll(w, PQsocket(w->pg), POLLIN, heard + WATCH_PING_IDLE * 1000);
		if (ready == 2)
			break;
		if (ready < 0) {
			watch_lost(w);
			continue;
		}
		if (ready == 0) {
			/* Silence: a connection cut without a FIN (a firewall, a
			 * failover) would never say so; ask something. */
			rc = watch_exec(w, w->pg, "SELECT 1", PGRES_TUPLES_OK, NULL);
			if (rc == 1)
				break;
		} else {
			rc = PQconsumeInput(w->pg) ? 0 : LKS_ESTORE;
		}
		if (rc < 0 || PQstatus(w->pg) != CONNECTION_OK) {
			watch_lost(w);
			continue;
		}
		heard = mono_ms();
		watch_deliver(w);
	}
	watch_drop(w);
	return NULL;
}

static void watch_free(struct watch *w)
{
	if (w == NULL)
		return;
	watch_drop(w);
	if (w->stop[0] >= 0)
		close(w->stop[0]);
	if (w->stop[1] >= 0)
		close(w->stop[1]);
	free(w);
}

static int pg_watch(lks_store *base, lks_store_change_fn changed, void *ctx)
{
	struct pg_store *s = STORE(base);
	struct watch *w = NULL;
	int rc;

	if (s->watch != NULL)
		return lks_error_set(LKS_EINVAL, "lks_store_watch: the store is watched already");
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	w->s = s;
	w->changed = changed;
	w->ctx = ctx;
	w->stop[0] = w->stop[1] = -1;
	if (pipe2(w->stop, O_CLOEXEC) < 0) {
		w->stop[0] = w->stop[1] = -1;
		rc = lks_error_set(LKS_ENOMEM, "cannot make a pipe: %s", strerror(errno));
		goto fail;
	}
	/* Listening before returning: a change committed after this call is
	 * reported, as the contract says. */
	rc = watch_connect(w);
	if (rc != 0)
		goto fail;
	if (pthread_create(&w->thread, NULL, watch_main, w) != 0) {
		rc = lks_error_set(LKS_ENOMEM, "cannot start the PostgreSQL listener thread");
		goto fail;
	}
	s->watch = w;
	return 0;
fail:
	watch_free(w);
	return rc < 0 ? rc : lks_error_set(LKS_ESTORE, "postgres listen: stopped");
}

static void pg_unwatch(lks_store *base)
{
	struct pg_store *s = STORE(base);
	struct watch *w = s->watch;
	ssize_t n;

	if (w == NULL)
		return;
	do
		n = write(w->stop[1], "", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(w->thread, NULL);
	s->watch = NULL;
	watch_free(w);
}

static const struct lks_store_ops postgres_ops = {
	.name = "postgres",
	.close = pg_close,
	.put = pg_put,
	.put_batch = pg_put_batch,
	.get = pg_get,
	.read = pg_read,
	.update = pg_update,
	.del = pg_delete,
	.sweep = pg_sweep,
	.compact = pg_compact,
	.count = pg_count,
	.watch = pg_watch,
	.unwatch = pg_unwatch,
};

/* ------------------------------------------------------------------------ */
/* Schema migration */

static int simple(PGconn *pg, PGresult **out, const char *sql, ExecStatusType want)
{
	PGresult *r = PQexec(pg, sql);
	int rc = 0;

	if (PQresultStatus(r) != want) {
		rc = pg_error(pg, r, "migrate");
		PQclear(r);
		r = NULL;
	}
	if (out != NULL)
		*out = r;
	else
		PQclear(r);
	return rc;
}

/* Creates or migrates the schema in one transaction. The advisory lock makes
 * nodes that start at once take turns: the second finds the first's tables. */
static int migrate(PGconn *pg)
{
	PGresult *r = NULL;
	char sql[128];
	long version = 0;
	int rc;

	rc = simple(pg, NULL, "BEGIN", PGRES_COMMAND_OK);
	if (rc < 0)
		return rc;
	rc = simple(pg, NULL, MIGRATE_LOCK, PGRES_TUPLES_OK);
	if (rc < 0)
		goto out;
	rc = simple(pg, NULL,
		    "CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)",
		    PGRES_COMMAND_OK);
	if (rc < 0)
		goto out;
	rc = simple(pg, &r, "SELECT coalesce(max(version), 0) FROM schema_version",
		    PGRES_TUPLES_OK);
	if (rc < 0)
		goto out;
	if (PQntuples(r) == 1)
		version = strtol(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	if (version > SCHEMA_VERSION) {
		rc = lks_error_set(LKS_ESTORE,
				   "postgres database %s has schema version %ld, newer than this "
				   "linksyncd knows (%d)",
				   PQdb(pg), version, SCHEMA_VERSION);
		goto out;
	}
	if (version == SCHEMA_VERSION)
		goto out; /* nothing to change: the COMMIT below only ends the transaction */
	for (long v = version + 1; v <= SCHEMA_VERSION; v++) {
		rc = simple(pg, NULL, migrations[v], PGRES_COMMAND_OK);
		if (rc < 0)
			goto out;
	}
	snprintf(sql, sizeof(sql),
		 "DELETE FROM schema_version; INSERT INTO schema_version VALUES (%d)",
		 SCHEMA_VERSION);
	rc = simple(pg, NULL, sql, PGRES_COMMAND_OK);
out:
	if (rc == 0)
		rc = simple(pg, NULL, "COMMIT", PGRES_COMMAND_OK);
	if (rc < 0 && PQtransactionStatus(pg) != PQTRANS_IDLE)
		PQclear(PQexec(pg, "ROLLBACK"));
	return rc;
}

/* ------------------------------------------------------------------------ */
/* The URL */

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Percent-decodes s[0..len) into a new string, as libpq does. */
static int pct_decode(char **out, const char *s, size_t len)
{
	char *d = malloc(len + 1);
	size_t n = 0;

	*out = NULL;
	if (d == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] != '%') {
			d[n++] = s[i];
			continue;
		}
		hi = i + 2 < len ? hexval((unsigned char)s[i + 1]) : -1;
		lo = i + 2 < len ? hexval((unsigned char)s[i + 2]) : -1;
		/* %00 would cut the password short: libpq refuses it too. */
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			free(d);
			return lks_error_set(LKS_EINVAL,
					     "postgres URL: bad percent-encoding in the password");
		}
		d[n++] = (char)(hi * 16 + lo);
		i += 2;
	}
	d[n] = '\0';
	*out = d;
	return 0;
}

/* The parts of the URL linksync reads itself. */
struct url_parts {
	char *clean;    /* the URL without password and pool=, for libpq to parse */
	char *password; /* decoded, or NULL */
	unsigned pool;
};

static void url_parts_free(struct url_parts *u)
{
	free(u->clean);
	free(u->password);
}

/* Appends s[0..len) to the buffer at *n (sized for the whole URL). */
static void put(char *buf, size_t *n, const char *s, size_t len)
{
	memcpy(buf + *n, s, len);
	*n += len;
	buf[*n] = '\0';
}

/* Takes the password (from user:password@ or password=) and pool= out of the
 * URL, so that no libpq message can ever quote the password, and libpq never
 * sees a parameter it does not know. */
static int url_split(struct url_parts *u, const char *url)
{
	const char *auth = strstr(url, "://");
	const char *p, *q, *at = NULL;
	size_t n = 0;
	int rc;

	memset(u, 0, sizeof(*u));
	u->pool = POOL_DEFAULT;
	if (auth == NULL)
		return lks_error_set(LKS_EINVAL, "postgres URL: expected postgres://...");
	auth += 3;
	u->clean = malloc(strlen(url) + 1);
	if (u->clean == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	put(u->clean, &n, url, (size_t)(auth - url));
	/* libpq's rule: the user info ends at the first '@' before any '/'. */
	for (p = auth; *p != '\0' && *p != '/'; p++) {
		if (*p == '@') {
			at = p;
			break;
		}
	}
	p = auth;
	if (at != NULL) {
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon != NULL) {
			rc = pct_decode(&u->password, colon + 1, (size_t)(at - colon - 1));
			if (rc < 0)
				return rc;
			put(u->clean, &n, auth, (size_t)(colon - auth));
			p = at;
		}
	}
	q = strchr(p, '?');
	put(u->clean, &n, p, q ? (size_t)(q - p) : strlen(p));
	if (q == NULL)
		return 0;
	/* The query, parameter by parameter. */
	for (const char *kv = q + 1; *kv != '\0';) {
		const char *end = strchr(kv, '&');
		size_t len = end ? (size_t)(end - kv) : strlen(kv);

		if (len >= 5 && strncmp(kv, "pool=", 5) == 0) {
			char num[16];
			char *e = NULL;
			long v;

			snprintf(num, sizeof(num), "%.*s", (int)(len - 5), kv + 5);
			errno = 0;
			v = strtol(num, &e, 10);
			if (errno != 0 || *e != '\0' || len - 5 >= sizeof(num) || v < 1 ||
			    v > POOL_MAX)
				return lks_error_set(
					LKS_EINVAL, "postgres URL: pool=%s: give 1 to %d connections",
					num, POOL_MAX);
			u->pool = (unsigned)v;
		} else if (len >= 9 && strncmp(kv, "password=", 9) == 0) {
			free(u->password);
			u->password = NULL;
			rc = pct_decode(&u->password, kv + 9, len - 9);
			if (rc < 0)
				return rc;
		} else if (len > 0) {
			put(u->clean, &n, strchr(u->clean, '?') ? "&" : "?", 1);
			put(u->clean, &n, kv, len);
		}
		kv += len;
		if (*kv == '&')
			kv++;
	}
	return 0;
}

/* Adds key=val to the connection arrays (at index *n). */
static int add_kv(struct pg_store *s, size_t *n, const char *key, const char *val)
{
	s->keys[*n] = strdup(key);
	s->vals[*n] = strdup(val);
	if (s->keys[*n] == NULL || s->vals[*n] == NULL) {
		free(s->keys[*n]);
		free(s->vals[*n]);
		s->keys[*n] = s->vals[*n] = NULL;
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	(*n)++;
	return 0;
}

/* libpq's keywords for the URL, with linksync's defaults where it says
 * nothing: a connect timeout (an unreachable server fails in seconds, not
 * minutes), UTF-8 strings, and the application name. */
static int url_options(struct pg_store *s, const char *url)
{
	struct url_parts u;
	PQconninfoOption *opts = NULL;
	char *err = NULL;
	size_t count = 0, n = 0;
	int rc, have_timeout = 0, have_encoding = 0;

	rc = url_split(&u, url);
	if (rc < 0)
		goto out;
	s->size = u.pool;
	opts = PQconninfoParse(u.clean, &err);
	if (opts == NULL) {
		char msg[512];

		/* The clean URL has no password, so the message may quote it. */
		flatten(msg, sizeof(msg), err ? err : "out of memory");
		rc = lks_error_set(err ? LKS_EINVAL : LKS_ENOMEM, "postgres URL: %s", msg);
		goto out;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
		count++;
	s->keys = calloc(count + 5, sizeof(char *));
	s->vals = calloc(count + 5, sizeof(char *));
	if (s->keys == NULL || s->vals == NULL) {
		rc = lks_error_set(LKS_ENOMEM, "out of memory");
		goto out;
	}
	for (PQconninfoOption *o = opts; o->keyword != NULL && rc == 0; o++) {
		if (o->val == NULL)
			continue;
		have_timeout |= strcmp(o->keyword, "connect_timeout") == 0;
		have_encoding |= strcmp(o->keyword, "client_encoding") == 0;
		if (strcmp(o->keyword, "password") != 0)
			rc = add_kv(s, &n, o->keyword, o->val);
	}
	if (rc == 0 && u.password != NULL)
		rc = add_kv(s, &n, "password", u.password);
	if (rc == 0 && !have_timeout)
		rc = add_kv(s, &n, "connect_timeout", CONNECT_TIMEOUT);
	if (rc == 0 && !have_encoding)
		rc = add_kv(s, &n, "client_encoding", "UTF8");
	if (rc == 0)
		rc = add_kv(s, &n, "fallback_application_name", "linksyncd");
out:
	PQconninfoFree(opts);
	PQfreemem(err);
	url_parts_free(&u);
	return rc;
}

int lks_store_postgres_open(lks_store **out, const char *url, const lks_store_options *opts)
{
	struct pg_store *s = calloc(1, sizeof(*s));
	struct conn *c = NULL;
	pthread_condattr_t attr;
	int rc;

	/* opts->sync_full has nothing to do here: a PostgreSQL commit is
	 * durable as the server is configured (synchronous_commit=on by
	 * default). */
	(void)opts;
	*out = NULL;
	if (s == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	s->base.ops = &postgres_ops;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&s->freed, &attr);
	pthread_condattr_destroy(&attr);
	rc = url_options(s, url);
	if (rc < 0)
		goto fail;
	/* The first connection migrates, then joins the pool; the others open
	 * when the load needs them. */
	rc = conn_connect(&c, s);
	if (rc < 0)
		goto fail;
	rc = migrate(c->pg);
	if (rc == 0)
		rc = conn_prepare(c);
	if (rc < 0) {
		conn_free(c);
		goto fail;
	}
	s->idle = c;
	s->opened = 1;
	*out = &s->base;
	return 0;
fail:
	pg_close(&s->base);
	return rc;
}
