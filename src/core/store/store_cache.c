/* A read cache in front of a single-node backend (SQLite): small items
 * without a read limit are kept in memory, so that the common read (a phone
 * fetching a calendar, a subscription polling it) costs no database query.
 * Every write through this store updates or drops the cached copy, so the
 * cache is only correct when no other process writes the same database: it
 * is never put in front of a backend shared by several nodes. */
#include "backend.h"
#include "linksync/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096          /* direct-mapped: an id hashes to one slot */
#define LOCKS 64            /* slot i is guarded by lock i % LOCKS */
#define MAX_ITEM (64 * 1024) /* larger items are not cached */

struct slot {
	lks_item *item; /* NULL when empty */
	void *content;
	size_t len;
	unsigned gen; /* bumped by every write to an item of this slot */
};

struct cache_store {
	struct lks_store base;
	lks_store *inner;
	size_t max_bytes;
	size_t bytes; /* content held, under budget_lock */
	pthread_mutex_t budget_lock;
	pthread_mutex_t locks[LOCKS];
	struct slot slots[SLOTS];
};

#define CACHE(s) ((struct cache_store *)(s))

static unsigned slot_of(const char *id)
{
	unsigned h = 2166136261u; /* FNV-1a: ids are random already, this just mixes */

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h % SLOTS;
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

static unsigned generation(struct cache_store *c, const char *id)
{
	unsigned i = slot_of(id), gen;

	pthread_mutex_lock(&c->locks[i % LOCKS]);
	gen = c->slots[i].gen;
	pthread_mutex_unlock(&c->locks[i % LOCKS]);
	return gen;
}

/* Keeps a copy of an unlimited, small item read from the database while its
 * slot was at generation gen (best effort: out of memory, over budget, or a
 * write since then simply does not cache). */
static void remember(struct cache_store *c, const lks_item *it, const void *content, size_t len,
		     unsigned gen)
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
	if (sl->gen != gen) {
		/* Written since we read it: what we hold may be old. */
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
	int rc = lookup(CACHE(s), out, NULL, NULL, id, now);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	return lks_store_get(CACHE(s)->inner, out, id, now);
}

static int ca_read(lks_store *s, lks_item **out, void **content, size_t *len, const char *id,
		   int64_t now, unsigned flags)
{
	struct cache_store *c = CACHE(s);
	unsigned gen = generation(c, id);
	int rc = lookup(c, out, content, len, id, now);

	if (rc != 0)
		return rc < 0 ? rc : 0; /* only unlimited items are cached: nothing to count */
	rc = lks_store_read(c->inner, out, content, len, id, now, flags);
	if (rc == 0)
		remember(c, *out, *content, *len, gen);
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

static void ca_close(lks_store *s)
{
	struct cache_store *c = CACHE(s);

	for (unsigned i = 0; i < SLOTS; i++)
		slot_clear(c, &c->slots[i]);
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_destroy(&c->locks[i]);
	pthread_mutex_destroy(&c->budget_lock);
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
};

int lks_store_cache_wrap(lks_store **out, lks_store *inner, size_t max_bytes)
{
	struct cache_store *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL) {
		lks_store_free(inner);
		return lks_error_set(LKS_ENOMEM, "out of memory");
	}
	c->base.ops = &cache_ops;
	c->inner = inner;
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->budget_lock, NULL);
	for (unsigned i = 0; i < LOCKS; i++)
		pthread_mutex_init(&c->locks[i], NULL);
	*out = &c->base;
	return 0;
}

const lks_store *lks_store_cache_inner(const lks_store *s)
{
	return s->ops == &cache_ops ? CACHE(s)->inner : s;
}
