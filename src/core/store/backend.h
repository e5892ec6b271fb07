/* What a storage backend implements: the operations of include/linksync/store.h,
 * one function table per backend. Internal to liblinksync. */
#ifndef LKS_STORE_BACKEND_H
#define LKS_STORE_BACKEND_H

#include "linksync/store.h"

struct lks_store_ops {
	const char *name;
	void (*close)(lks_store *store);
	int (*put)(lks_store *store, const lks_item *item, const void *content, size_t len);
	/* Stores every put of the list in one transaction and returns 0, or
	 * stores none and returns the error (group.c then stores them one by one
	 * to tell each its own result). NULL: group.c stores them one by one. */
	int (*put_batch)(lks_store *store, lks_store_put_job *list);
	int (*get)(lks_store *store, lks_item **out, const char *id, int64_t now);
	int (*read)(lks_store *store, lks_item **out, void **content, size_t *len, const char *id,
		    int64_t now, unsigned flags);
	int (*update)(lks_store *store, lks_item **out, const char *id, const lks_item *changes,
		      const void *content, size_t len, int64_t now);
	int (*del)(lks_store *store, const char *id);
	int (*sweep)(lks_store *store, unsigned *purged, int64_t now, unsigned batch);
	int (*compact)(lks_store *store);
	int (*count)(lks_store *store, int64_t *count);
	/* Change notifications of a shared store; NULL where only this process
	 * writes (lks_store_watch then succeeds and never reports). */
	int (*watch)(lks_store *store, lks_store_change_fn changed, void *ctx);
	void (*unwatch)(lks_store *store);
};

/* Every backend's store begins with this header. */
struct lks_store {
	const struct lks_store_ops *ops;
	struct lks_group *group; /* group commit (group.c), made on first use */
};

/* Group commit (group.c): stops the committer, after it has finished what
 * is queued. Called by lks_store_free before the backend closes. */
void lks_group_stop(lks_store *store);

int lks_store_sqlite_open(lks_store **out, const char *path, const lks_store_options *opts);

/* SQLite: past this many frames in the WAL, a commit checkpoints on its own
 * thread rather than leave it to the store's checkpointer (which keeps the
 * WAL well below when it can). */
#define LKS_SQLITE_WAL_HARD_FRAMES 8192

/* url is the whole "postgres://..." or "postgresql://..." URL, with the
 * optional pool=N (connections, 1 to 64, default 4) that linksync reads itself. */
int lks_store_postgres_open(lks_store **out, const char *url, const lks_store_options *opts);

/* Puts a read cache of at most max_bytes of content in front of inner
 * (taking it over; freed with the cache, or at once on failure). A backend
 * that other processes write to must have a watch: the cache takes it (and
 * offers it again as its own), and keeps no copy longer than max_age_ms
 * (0: LKS_STORE_CACHE_MAX_AGE_MS). Returns 0, LKS_ENOMEM, or the watch's
 * error. */
int lks_store_cache_wrap(lks_store **out, lks_store *inner, size_t max_bytes,
			 unsigned max_age_ms);

/* The backend behind a cache, or s itself. */
const lks_store *lks_store_cache_inner(const lks_store *s);

#endif
