/* Storage of items behind one interface, with a backend chosen by URL:
 * "sqlite:PATH" (embedded, the default) or "postgres://..." (shared by
 * several nodes). Every operation is atomic and durable when it returns 0:
 * a server answers 201 only after lks_store_put returned. */
#ifndef LINKSYNC_STORE_H
#define LINKSYNC_STORE_H

#include "linksync/item.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lks_store lks_store;

#define LKS_STORE_DEFAULT_URL "sqlite:./linksync-data/linksync.db"

typedef struct lks_store_options {
	int sync_full;      /* SQLite synchronous=FULL: survive power loss, not only a crash */
	size_t cache_bytes; /* keep up to this much small unlimited content in memory (0: none) */
	/* PostgreSQL with a cache: a cached copy is read again once it is this
	 * old, even if no change was reported (a listener cut off without a
	 * word); 0 means LKS_STORE_CACHE_MAX_AGE_MS. */
	unsigned cache_max_age_ms;
} lks_store_options;

#define LKS_STORE_CACHE_MAX_AGE_MS 5000

/* Opens (creating or migrating as needed) the store at url. opts may be NULL.
 * Returns 0, LKS_EINVAL (unknown scheme), LKS_ESTORE (cannot open or migrate,
 * with the reason in lks_error_message) or LKS_ENOMEM. */
int lks_store_open(lks_store **out, const char *url, const lks_store_options *opts);

/* Closes every connection. Call only when no thread uses the store. NULL is fine. */
void lks_store_free(lks_store *store);

/* "sqlite" or "postgres". */
const char *lks_store_backend(const lks_store *store);

/* Stores a new item (its id must be new) with its content. Returns 0 once
 * committed, LKS_ESTORE or LKS_ENOMEM. */
int lks_store_put(lks_store *store, const lks_item *item, const void *content, size_t len);

/* A new item waiting for group commit (lks_store_put_async). The caller
 * fills item, content, len, done and ctx, and keeps the struct, the item and
 * the content alive until done is called. */
typedef struct lks_store_put_job {
	const lks_item *item;
	const void *content;
	size_t len;
	void (*done)(struct lks_store_put_job *put); /* called once, after commit or failure */
	void *ctx;
	int rc;                     /* set before done: 0 committed, or the error */
	char message[256];          /* the error's message, as lks_error_message */
	struct lks_store_put_job *next; /* the store's, while queued */
} lks_store_put_job;

/* Queues a put to be committed together with the others waiting, in one
 * transaction (group commit: one flush to disk for many items). done runs on
 * the store's committer thread once the item is durable (rc 0) or could not
 * be stored (rc < 0, with put->message); it must be quick. Returns 0 when
 * queued, or LKS_ENOMEM (then done is never called). */
int lks_store_put_async(lks_store *store, lks_store_put_job *put);

/* Metadata of a live item (not expired, reads left) into *out (caller frees).
 * Returns 0, LKS_ENOTFOUND, LKS_ESTORE or LKS_ENOMEM. */
int lks_store_get(lks_store *store, lks_item **out, const char *id, int64_t now);

/* lks_store_read flags. */
#define LKS_STORE_COUNT 1u /* this read is a delivery: consume one of the item's reads */

/* Metadata and content of a live item in one consistent snapshot: *content
 * (malloc'd, caller frees; non-NULL even for 0 bytes) and *len. With
 * LKS_STORE_COUNT and a read limit, one read is consumed atomically (of N
 * concurrent readers of the last read exactly one succeeds) and the last read
 * deletes the item. Returns 0, LKS_ENOTFOUND, LKS_ESTORE or LKS_ENOMEM. */
int lks_store_read(lks_store *store, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags);

/* Replaces a live item's content: kind, type, name, summary, size and content_hash
 * come from changes; version grows by one and updated_at becomes now. The new
 * metadata goes to *out when out is not NULL. Returns 0, LKS_ENOTFOUND,
 * LKS_ESTORE or LKS_ENOMEM. */
int lks_store_update(lks_store *store, lks_item **out, const char *id, const lks_item *changes,
		     const void *content, size_t len, int64_t now);

/* Deletes an item. Returns 0, LKS_ENOTFOUND or LKS_ESTORE. */
int lks_store_delete(lks_store *store, const char *id);

/* Deletes up to batch expired items in one short transaction and returns how
 * many in *purged (fewer than batch means none are left). Returns 0 or
 * LKS_ESTORE. */
int lks_store_sweep(lks_store *store, unsigned *purged, int64_t now, unsigned batch);

/* Gives freed space back to the file system, a little at a time (SQLite's
 * incremental vacuum; a no-op where the backend does it itself). Returns 1
 * when more remains (call again), 0 when done, or LKS_ESTORE. */
int lks_store_compact(lks_store *store);

/* Counts stored rows, live or not (for tests and metrics). */
int lks_store_count(lks_store *store, int64_t *count);

/* A change reported by lks_store_watch: the item id now has version, or is
 * gone (version 0: deleted, or its last read was taken). id NULL tells of
 * the watch's connection: version -1 when it is lost (changes from now on
 * may go unreported), version 0 when it listens again after a loss (changes
 * meanwhile may have been missed: check every item you care about again).
 * id is borrowed for the call. */
typedef void (*lks_store_change_fn)(void *ctx, const char *id, int64_t version);

/* Reports every update and deletion that any node commits to a store shared
 * by several nodes (PostgreSQL: LISTEN/NOTIFY on a connection of its own,
 * reconnecting when it drops), so that a long poll parked on this node wakes
 * when another node changes its item. changed runs on a thread of the watch,
 * one call at a time; it must be quick and must not call lks_store_unwatch.
 * Changes made through this process are reported too. Every change committed
 * after this returns 0 is reported (or covered by an id NULL call).
 * A store that only this process writes (SQLite) has nothing to report: the
 * call returns 0 and changed is never called. Returns 0, LKS_EINVAL (already
 * watching), LKS_ESTORE (cannot connect or listen) or LKS_ENOMEM. */
int lks_store_watch(lks_store *store, lks_store_change_fn changed, void *ctx);

/* Stops the watch: when it returns, changed is not running and is never
 * called again. Call it before freeing what ctx points to. A store without a
 * watch (or NULL) is fine. lks_store_free stops a watch too. */
void lks_store_unwatch(lks_store *store);

#ifdef __cplusplus
}
#endif
#endif
