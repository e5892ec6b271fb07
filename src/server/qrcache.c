/* The rendered QR codes linksyncd hands out again (qrcache.h): a hash table
 * split into shards, each with its own lock, its share of the byte bound and
 * its least-recently-used list, so that threads serving different items
 * seldom wait for each other and a code in use stays while cold ones go.
 * Rendering happens outside any lock; two threads that miss the same code at
 * once both render it, and the second copy is dropped. */
#include "qrcache.h"

#include "linksync/error.h"
#include "linksync/id.h"
#include "linksync/qr.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16   /* a code's shard comes from its hash */
#define BUCKETS 128 /* hash chains per shard */

struct entry {
	struct entry *next;	     /* in its bucket's chain */
	struct entry *newer, *older; /* in its shard's recency list */
	uint32_t hash;
	lks_qr_format format;
	size_t len;  /* of the image */
	size_t cost; /* charged to the shard's budget */
	char etag[LKS_QRCACHE_ETAG_SIZE];
	char *text;	      /* in data, after the image */
	unsigned char data[]; /* the image, then the text and its NUL */
};

struct shard {
	pthread_mutex_t lock;
	struct entry *buckets[BUCKETS];
	struct entry *newest, *oldest;
	size_t bytes, entries;
	uint64_t hits, misses;
};

struct lks_qrcache {
	size_t shard_bytes; /* each shard's even share of the bound */
	struct shard shards[SHARDS];
};

static uint32_t hash_of(const char *text, lks_qr_format format)
{
	uint32_t h = 2166136261u; /* FNV-1a: links end in random ids, this just mixes */

	for (; *text != '\0'; text++)
		h = (h ^ (unsigned char)*text) * 16777619u;
	return (h ^ (uint32_t)format) * 16777619u;
}

static struct entry **bucket_of(struct shard *sh, uint32_t hash)
{
	return &sh->buckets[(hash / SHARDS) % BUCKETS];
}

/* The entry of (text, format), or NULL; the caller holds the shard's lock. */
static struct entry *find(struct shard *sh, uint32_t hash, const char *text, lks_qr_format format)
{
	struct entry *e;

	for (e = *bucket_of(sh, hash); e != NULL; e = e->next)
		if (e->hash == hash && e->format == format && strcmp(e->text, text) == 0)
			return e;
	return NULL;
}

static void lru_unlink(struct shard *sh, struct entry *e)
{
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		sh->newest = e->older;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		sh->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void lru_push(struct shard *sh, struct entry *e)
{
	e->older = sh->newest;
	e->newer = NULL;
	if (sh->newest != NULL)
		sh->newest->newer = e;
	else
		sh->oldest = e;
	sh->newest = e;
}

/* Removes and frees e; the caller holds the shard's lock. */
static void drop(struct shard *sh, struct entry *e)
{
	struct entry **p = bucket_of(sh, e->hash);

	while (*p != e)
		p = &(*p)->next;
	*p = e->next;
	lru_unlink(sh, e);
	sh->bytes -= e->cost;
	sh->entries--;
	free(e);
}

static int render(void **out, size_t *len, const char *text, lks_qr_format format)
{
	unsigned char *png = NULL;
	char *s = NULL;
	int rc;

	switch (format) {
	case LKS_QR_PNG:
		rc = lks_qr_png(&png, len, text, 0);
		*out = png;
		return rc;
	case LKS_QR_SVG:
		rc = lks_qr_svg(&s, len, text);
		break;
	case LKS_QR_TXT:
		rc = lks_qr_text(&s, text, 0);
		*len = s != NULL ? strlen(s) : 0;
		break;
	default:
		return lks_error_set(LKS_EINVAL, "no such QR format");
	}
	*out = s;
	return rc;
}

/* A strong ETag from the image's bytes, so that a new drawing of the same
 * link (another public URL, a change in the renderer) is a new tag. */
static void make_etag(char etag[LKS_QRCACHE_ETAG_SIZE], const void *image, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t h[LKS_HASH_BYTES];
	char *o = etag;

	lks_sha256(h, image, len);
	memcpy(o, "\"qr-", 4);
	o += 4;
	for (int i = 0; i < 8; i++) {
		*o++ = hex[h[i] >> 4];
		*o++ = hex[h[i] & 15];
	}
	*o++ = '"';
	*o = '\0';
}

/* Keeps a copy of a fresh rendering, making room by dropping the shard's
 * least recently used codes (best effort: too big for a shard or out of
 * memory simply does not keep it). */
static void keep(struct lks_qrcache *c, struct shard *sh, uint32_t hash, const char *text,
		 lks_qr_format format, const void *image, size_t len, const char *etag)
{
	size_t tlen = strlen(text), cost = sizeof(struct entry) + len + tlen + 1;
	struct entry *e;

	if (cost > c->shard_bytes)
		return;
	e = malloc(cost);
	if (e == NULL)
		return;
	memset(e, 0, sizeof(*e));
	e->hash = hash;
	e->format = format;
	e->len = len;
	e->cost = cost;
	memcpy(e->etag, etag, LKS_QRCACHE_ETAG_SIZE);
	memcpy(e->data, image, len);
	e->text = (char *)e->data + len;
	memcpy(e->text, text, tlen + 1);
	pthread_mutex_lock(&sh->lock);
	if (find(sh, hash, text, format) != NULL) {
		/* Another thread kept the same bytes meanwhile. */
		pthread_mutex_unlock(&sh->lock);
		free(e);
		return;
	}
	while (sh->bytes + cost > c->shard_bytes)
		drop(sh, sh->oldest);
	e->next = *bucket_of(sh, hash);
	*bucket_of(sh, hash) = e;
	lru_push(sh, e);
	sh->bytes += cost;
	sh->entries++;
	pthread_mutex_unlock(&sh->lock);
}

int lks_qrcache_new(lks_qrcache **out, size_t max_bytes)
{
	struct lks_qrcache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL)
		return lks_error_set(LKS_ENOMEM, "out of memory");
	c->shard_bytes = max_bytes / SHARDS;
	for (unsigned i = 0; i < SHARDS; i++)
		pthread_mutex_init(&c->shards[i].lock, NULL);
	*out = c;
	return 0;
}

void lks_qrcache_free(lks_qrcache *c)
{
	if (c == NULL)
		return;
	for (unsigned i = 0; i < SHARDS; i++) {
		struct shard *sh = &c->shards[i];

		while (sh->oldest != NULL)
			drop(sh, sh->oldest);
		pthread_mutex_destroy(&sh->lock);
	}
	free(c);
}

int lks_qrcache_get(lks_qrcache *c, void **out, size_t *len, char etag[LKS_QRCACHE_ETAG_SIZE],
		    const char *text, lks_qr_format format)
{
	uint32_t hash = hash_of(text, format);
	struct shard *sh = &c->shards[hash % SHARDS];
	struct entry *e;
	void *image = NULL;
	size_t n = 0;
	int rc = 0;

	*out = NULL;
	*len = 0;
	pthread_mutex_lock(&sh->lock);
	e = find(sh, hash, text, format);
	if (e != NULL) {
		sh->hits++;
		lru_unlink(sh, e);
		lru_push(sh, e);
		*out = malloc(e->len ? e->len : 1);
		if (*out == NULL) {
			rc = lks_error_set(LKS_ENOMEM, "out of memory");
		} else {
			memcpy(*out, e->data, e->len);
			*len = e->len;
			memcpy(etag, e->etag, LKS_QRCACHE_ETAG_SIZE);
		}
		pthread_mutex_unlock(&sh->lock);
		return rc;
	}
	sh->misses++;
	pthread_mutex_unlock(&sh->lock);
	rc = render(&image, &n, text, format);
	if (rc < 0)
		return rc;
	make_etag(etag, image, n);
	keep(c, sh, hash, text, format, image, n, etag);
	*out = image;
	*len = n;
	return 0;
}

void lks_qrcache_stats_get(lks_qrcache *c, lks_qrcache_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < SHARDS; i++) {
		struct shard *sh = &c->shards[i];

		pthread_mutex_lock(&sh->lock);
		out->hits += sh->hits;
		out->misses += sh->misses;
		out->entries += sh->entries;
		out->bytes += sh->bytes;
		pthread_mutex_unlock(&sh->lock);
	}
}
