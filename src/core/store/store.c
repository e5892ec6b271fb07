/* The storage interface: picks a backend by URL and forwards to it. */
#include "backend.h"
#include "linksync/error.h"

#include <string.h>

int lks_store_open(lks_store **out, const char *url, const lks_store_options *opts)
{
	static const lks_store_options defaults = {0};

	*out = NULL;
	if (opts == NULL)
		opts = &defaults;
	if (url == NULL || *url == '\0')
		url = LKS_STORE_DEFAULT_URL;
	if (strncmp(url, "sqlite:", 7) == 0) {
		lks_store *db = NULL;
		int rc = lks_store_sqlite_open(&db, url + 7, opts);

		/* One process owns an SQLite store, so a cache of it stays true. */
		if (rc < 0 || opts->cache_bytes == 0) {
			*out = db;
			return rc;
		}
		return lks_store_cache_wrap(out, db, opts->cache_bytes, 0);
	}
	if (strncmp(url, "postgres://", 11) == 0 || strncmp(url, "postgresql://", 13) == 0) {
		lks_store *db = NULL;
		int rc = lks_store_postgres_open(&db, url, opts);

		/* Other nodes write it too: the cache listens to their changes. */
		if (rc < 0 || opts->cache_bytes == 0) {
			*out = db;
			return rc;
		}
		return lks_store_cache_wrap(out, db, opts->cache_bytes, opts->cache_max_age_ms);
	}
	/* The URL may hold a password: do not repeat it. */
	return lks_error_set(LKS_EINVAL, "unknown kind of store: use sqlite:PATH or postgres://...");
}

void lks_store_free(lks_store *store)
{
	if (store == NULL)
		return;
	lks_group_stop(store);
	store->ops->close(store);
}

const char *lks_store_backend(const lks_store *store)
{
	return lks_store_cache_inner(store)->ops->name;
}

int lks_store_put(lks_store *store, const lks_item *item, const void *content, size_t len)
{
	return store->ops->put(store, item, content, len);
}

int lks_store_get(lks_store *store, lks_item **out, const char *id, int64_t now)
{
	*out = NULL;
	return store->ops->get(store, out, id, now);
}

int lks_store_read(lks_store *store, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags)
{
	*out = NULL;
	*content = NULL;
	*len = 0;
	return store->ops->read(store, out, content, len, id, now, flags);
}

int lks_store_update(lks_store *store, lks_item **out, const char *id, const lks_item *changes,
		     const void *content, size_t len, int64_t now)
{
	if (out != NULL)
		*out = NULL;
	return store->ops->update(store, out, id, changes, content, len, now);
}

int lks_store_delete(lks_store *store, const char *id)
{
	return store->ops->del(store, id);
}

int lks_store_sweep(lks_store *store, unsigned *purged, int64_t now, unsigned batch)
{
	*purged = 0;
	return store->ops->sweep(store, purged, now, batch);
}

int lks_store_compact(lks_store *store)
{
	return store->ops->compact(store);
}

int lks_store_count(lks_store *store, int64_t *count)
{
	*count = 0;
	return store->ops->count(store, count);
}

int lks_store_watch(lks_store *store, lks_store_change_fn changed, void *ctx)
{
	/* A single-writer backend has nothing to report (its cache passes the
	 * call on and says so). */
	if (store->ops->watch == NULL)
		return 0;
	if (changed == NULL)
		return lks_error_set(LKS_EINVAL, "lks_store_watch: no callback");
	return store->ops->watch(store, changed, ctx);
}

void lks_store_unwatch(lks_store *store)
{
	if (store != NULL && store->ops->unwatch != NULL)
		store->ops->unwatch(store);
}
