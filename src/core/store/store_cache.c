/* A read cache in front of a backend: small items without a read limit are
 * kept in memory, so that the common read (a phone fetching a calendar, a
 * subscription polling it) costs no database query. Every write through this
 * store drops the cached copy. In front of a store that other nodes write too
 * (PostgreSQL), the backend's watch reports their changes, and each report
 * drops the copy as well; while the watch is cut off nothing is served from
 * memory, and no copy is kept longer than a maximum age, so that a listener
 * lost without a word (a silent network) cannot keep an old version alive.
 * Another node's change reaches this cache after its notification's latency
 * (milliseconds); until then a read here may answer the previous version. */
#include "backend.h"
#include "linksync/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 4096          /* direct-mapped: an id hashes to one slot */
#define LOCKS 64            /* slot i is guarded by lock i % LOCKS */
#define MAX_ITEM (64 * 1024) /* larger items are not cached */

struct slot {
	lks_item *item; /* NULL when empty */
	void *content;
	size_t len;
	int64_t born_ms; /* when its read from the database began (monotonic) */
	unsigned gen;    /* bumped by every write to an item of this slot */
};

/* What a reader notes before it asks the database, so that what it got can
 * be recognised as possibly old when it comes back. */
struct stamp {
	unsigned gen;
	unsigned epoch;
	int64_t at_ms; /* when (monotonic): a copy is as old as the read it came from */
};

struct cache_store {
	struct lks_store base;
	lks_store *inner;
	size_t max_bytes;
	size_t bytes; /* content held, under budget_lock */
	pthread_mutex_t budget_lock;
	pthread_mutex_t locks[LOCKS];
	struct slot slots[SLOTS];

	/* Shared stores only: inner's watch keeps the cache true. */
	int shared;
	int64_t max_age_ms;
	atomic_uint epoch;  /* bumped when the watch is lost and when it is back */
	atomic_int cut_off; /* the watch is lost: no hits, nothing kept */
	pthread_mutex_t watch_lock; /* held while calling changed */
	lks_store_change_fn changed; /* the caller's lks_store_watch, or NULL */
	void *ctx;
};

#define CACHE(s) ((struct cache_store *)(s))

static unsigned slot_of(const char *id)
{
	unsigned h = 2166136261u; /* FNV-1a: ids are random already, this just mixes */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % SLOTS;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Empties a slot; the caller holds its lock. */
static void slot_clear(struct cache_store *c, struct slot *sl)
{
	if (sl->item == NULL)
		return;
	pthread_mutex_lock(&c->budget_lock);
	c->bytes -= sl->len;
	pthread_mutex_unlock(&c->budget_lock);
	lks_item_free(sl->item);
	free(sl->content);
	sl->item = NULL;
	sl->content = NULL;
	sl->len = 0;
}

/* Drops the cached copy of id and bumps its slot's generation, so that a
 * reader that fetched the old version from the database before (or while)
 * it changed cannot put it back: writers call this before and after their
 * write. */
static void forget(struct cache_store *c, const char *id)
{
	unsigned i = slot_of(id);
	struct slot *sl = &c->slots[i];

	pthread_mutex_lock(&c->locks[i % LOCKS]);
	sl->gen++;
	if (sl->item != NULL && strcmp(sl->item->id, id) == 0)
		slot_clear(c, sl);
	pthread_mutex_unlock(&c->locks[i % LOCKS]);
}

/* Empties every slot, after the epoch was bumped: what readers bring back
 * from before is not kept either. */
static void forget_all(struct cache_store *c)
{
	for (unsigned i = 0; i < SLOTS; i++) {
		pthread_mutex_lock(&c->locks[i % LOCKS]);
		slot_clear(c, &c->slots[i]);
		pthread_mutex_unlock(&c->locks[i % LOCKS]);
	}
}

static struct stamp stamp_of(struct cache_store *c, const char *id)
{
	unsigned i = slot_of(id);
	struct stamp st;

	/* The epoch first: a watch lost after this point bumps it. */
	st.epoch = atomic_load(&c->epoch);
	st.at_ms = c->shared ? mono_ms() : 0;
	pthread_mutex_lock(&c->locks[i % LOCKS]);
	st.gen = c->slots[i].gen;
	pthread_mutex_unlock(&c->locks[i % LOCKS]);
	return st;
}

/* Keeps a copy of an unlimited, small item read from the database after
 * stamp st was taken (best effort: out of memory, over budget, a write or a
 * lost watch since then simply does not cache). */
static void remember(struct cache_store *c, const lks_item *it, const void *content, size_t len,
		     struct stamp st)
{
	unsigned i = slot_of(it->id);
	struct slot *sl = &c->slots[i];
	lks_item *copy = NULL;
	void *data = NULL;
	int fits;

	if (it->reads_left >= 0 || len > MAX_ITEM)
		return;
	if (lks_item_dup(&copy, it) < 0)
		return;
	data = malloc(len ? len : 1);
	if (data == NULL) {
		lks_item_free(copy);
		return;
	}
	if (len > 0)
		memcpy(data, content, len);
	pthread_mutex_lock(&c->locks[i % LOCKS]);
	if (sl->gen != st.gen || atomic_load(&c->epoch) != st.epoch || atomic_load(&c->cut_off)) {
		/* Written since we read it, or not watched: what we hold may be old. */
		pthread_mutex_unlock(&c->locks[i % LOCKS]);
		lks_item_free(copy);
		free(data);
		return;
	}
	slot_clear(c, sl);
	pthread_mutex_lock(&c->budget_lock);
	fits = c->bytes + len <= c->max_bytes;
	if (fits)
		c->bytes += len;
	pthread_mutex_unlock(&c->budget_lock);
	if (fits) {
		sl->item = copy;
		sl->content = data;
		sl->len = len;
		sl->born_ms = st.at_ms;
		copy = NULL;
		data = NULL;
	}
	pthread_mutex_unlock(&c->locks[i % LOCKS]);
	lks_item_free(copy);
	free(data);
}

/* Copies a live cached item (and its content when asked). Returns 1 on a
 * hit, 0 on a miss, a negative code when out of memory. */
static int lookup(struct cache_store *c, lks_item **out, void **content, size_t *len,
		  const char *id, int64_t now)
{
	unsigned i = slot_of(id);
	struct slot *sl = &c->slots[i];
	int rc = 0;

	pthread_mutex_lock(&c->locks[i % LOCKS]);
	if (sl->item == NULL || strcmp(sl->item->id, id) != 0)
		goto out;
	if (sl->item->expires_at <= now) {
		slot_clear(c, sl); /* expired: the sweeper deletes it below us */
		goto out;
	}
	if (c->shared && (atomic_load(&c->cut_off) || mono_ms() - sl->born_ms > c->max_age_ms)) {
		slot_clear(c, sl); /* unwatched, or old enough to ask again */
		goto out;
	}
	rc = lks_item_dup(out, sl->item);
	if (rc < 0)
		goto out;
	if (content != NULL) {
		*content = malloc(sl->len ? sl->len : 1);
		if (*content == NULL) {
			lks_item_free(*out);
			*out = NULL;
			rc = lks_error_set(LKS_ENOMEM, "out of memory");
			goto out;
		}
		if (sl->len > 0)
			memcpy(*content, sl->content, sl->len);
		*len = sl->len;
	}
	rc = 1;
out:
	pthread_mutex_unlock(&c->locks[i % LOCKS]);
	return rc;
}

static int ca_put(lks_store *s, const lks_item *item, const void *content, size_t len)
{
	/* Not cached on the way in: most items are read once, if at all. */
	return lks_store_put(CACHE(s)->inner, item, content, len);
}

static int ca_put_batch(lks_store *s, lks_store_put_job *list)
{
	lks_store *inner = CACHE(s)->inner;

	if (inner->ops->put_batch == NULL)
		return lks_error_set(LKS_EUNSUPPORTED, "no batches"); /* one by one, then */
	return inner->ops->put_batch(inner, list);
}

static int ca_get(lks_store *s, lks_item **out, const char *id, int64_t now)
{
	struct cache_store *c = CACHE(s);
	struct stamp st = stamp_of(c, id);
	lks_item *it = NULL;
	void *content = NULL;
	size_t len = 0;
	int rc = lookup(c, out, NULL, NULL, id, now);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = lks_store_get(c->inner, out, id, now);
	if (rc < 0 || (*out)->reads_left >= 0 || (*out)->size > MAX_ITEM)
		return rc;
	/* A page or a QR code is often asked for before the content (and more
	 * often): the content comes along once, so that those are hits too. */
	if (lks_store_read(c->inner, &it, &content, &len, id, now, 0) == 0)
		remember(c, it, content, len, st);
	lks_item_free(it);
	free(content);
	return rc;
}

static int ca_read(lks_store *s, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags)
{
	struct cache_store *c = CACHE(s);
	struct stamp st = stamp_of(c, id);
	int rc = lookup(c, out, content, len, id, now);

	if (rc != 0)
		return rc < 0 ? rc : 0; /* only unlimited items are cached: nothing to count */
	rc = lks_store_read(c->inner, out, content, len, id, now, flags);
	if (rc == 0)
		remember(c, *out, *content, *len, st);
	return rc;
}

static int ca_update(lks_store *s, lks_item **out, const char *id, const lks_item *changes,
		     const void *content, size_t len, int64_t now)
{
	int rc;

	forget(CACHE(s), id);
	rc = lks_store_update(CACHE(s)->inner, out, id, changes, content, len, now);
	forget(CACHE(s), id);
	return rc;
}

static int ca_delete(lks_store *s, const char *id)
{
	int rc;

	forget(CACHE(s), id);
	rc = lks_store_delete(CACHE(s)->inner, id);
	forget(CACHE(s), id);
	return rc;
}

static int ca_sweep(lks_store *s, unsigned *purged, int64_t now, unsigned batch)
{
	/* Expired entries are dropped when looked up. */
	return lks_store_sweep(CACHE(s)->inner, purged, now, batch);
}

static int ca_compact(lks_store *s)
{
	return lks_store_compact(CACHE(s)->inner);
}

static int ca_count(lks_store *s, int64_t *count)
{
	return lks_store_count(CACHE(s)->inner, count);
}

/* inner's watch: a change through any node (this one included), or the
 * watch lost or back. Runs on the watch's thread. */
static void inner_changed(void *ctx, const char *id, int64_t version)
{
	struct cache_store *c = ctx;

	if (id != NULL) {
		forget(c, id);
	} else {
		/* Lost: stop serving and keeping copies before anything else.
		 * Back: what readers fetched before now may predate a change
		 * nobody heard of, hence a new epoch before serving again. */
		if (version < 0)
			atomic_store(&c->cut_off, 1);
		atomic_fetch_add(&c->epoch, 1);
		forget_all(c);
		if (version >= 0)
			atomic_store(&c->cut_off, 0);
	}
	pthread_mutex_lock(&c->watch_lock);
	if (c->changed != NULL)
		c->changed(c->ctx, id, version);
	pthread_mutex_unlock(&c->watch_lock);
}

/* The caller's watch shares inner's (a backend has one): the cache passes
 * every report on after acting on it itself. */
static int ca_watch(lks_store *s, lks_store_change_fn changed, void *ctx)
{
	struct cache_store *c = CACHE(s);
	int rc = 0;

	if (!c->shared)
		return 0; /* nothing to report where only this process writes */
	pthread_mutex_lock(&c->watch_lock);
	if (c->changed != NULL) {
		rc = lks_error_set(LKS_EINVAL, "lks_store_watch: the store is watched already");
	} else {
		c->changed = changed;
		c->ctx = ctx;
	}
	pthread_mutex_unlock(&c->watch_lock);
	return rc;
}

static void ca_unwatch(lks_store *s)
{
	struct cache_store *c = CACHE(s);

	pthread_mutex_lock(&c->watch_lock);
	c->changed = NULL;
	c->ctx = NULL;
	pthread_mutex_unlock(&c->watch_lock);
}

static void ca_close(lks_store *s)
{
	struct cache_store *c = CACHE(s);

	if (c->shared)
		lks_store_unwatch(c->inner); /* no report may arrive from here on */
	for (unsigned i = 0; i < SLOTS; i++)
		slot_clear(c, &c->slots[i]);
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&c->locks[i]);
	pthread_mutex_destroy(&c->budget_lock);
	pthread_mutex_destroy(&c->watch_lock);
	lks_store_free(c->inner);
	free(c);
}

static const struct lks_store_ops cache_ops = {
	.name = NULL, /* lks_store_backend answers the inner backend's name */
	.close = ca_close,
	.put = ca_put,
	.put_batch = ca_put_batch,
	.get = ca_get,
	.read = ca_read,
	.update = ca_update,
	.del = ca_delete,
	.sweep = ca_sweep,
	.compact = ca_compact,
	.count = ca_count,
	.watch = ca_watch,
	.unwatch = ca_unwatch,
};

int lks_store_cache_wrap(lks_store **out, lks_store *inner, size_t max_bytes,
			 unsigned max_age_ms)
{
	struct cache_store *c = calloc(1, sizeof(*c));
	int rc;

	*out = NULL;
	if (c == NULL) {
		lks_store_free(inner);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	c->base.ops = &cache_ops;
	c->inner = inner;
	c->max_bytes = max_bytes;
	c->max_age_ms = max_age_ms > 0 ? max_age_ms : LKS_STORE_CACHE_MAX_AGE_MS;
	atomic_init(&c->epoch, 0);
	atomic_init(&c->cut_off, 0);
	pthread_mutex_init(&c->budget_lock, NULL);
	pthread_mutex_init(&c->watch_lock, NULL);
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	*out = &c->base;
	if (inner->ops->watch == NULL)
		return 0;
	/* Listening before the first read: every change committed from here
	 * on is reported. */
	c->shared = 1;
	rc = inner->ops->watch(inner, inner_changed, c);
	if (rc < 0) {
		c->shared = 0;
		lks_store_free(*out);
		*out = NULL;
	}
	return rc;
}

const lks_store *lks_store_cache_inner(const lks_store *s)
{
	return s->ops == &cache_ops ? CACHE(s)->inner : s;
}
