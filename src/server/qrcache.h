/* Internal to linksyncd: a bounded, thread-safe cache of rendered QR codes.
 * An item's code depends only on its link, which never changes while the
 * item lives, so a rendering (about 0.2 ms of CPU) is kept and handed out
 * again; the caller still looks the item up on every request, so a deleted
 * or expired item's image is never served, only left to age out. */
#ifndef LKS_SERVER_QRCACHE_H
#define LKS_SERVER_QRCACHE_H

#include <stddef.h>
#include <stdint.h>

/* What the server keeps by default: at about 0.6 KiB a PNG, 2.4 KiB a
 * terminal drawing and 3.7 KiB an SVG (the one the item page shows), the
 * codes of the last thousand or so items looked at, which covers the burst
 * of fetches that follows a share; an older code costs one rendering. */
#define LKS_QRCACHE_DEFAULT_BYTES (4u * 1024 * 1024)

/* Room for an image's ETag: a quoted "qr-" and 16 hex digits, and the NUL. */
#define LKS_QRCACHE_ETAG_SIZE 24

typedef enum { LKS_QR_SVG, LKS_QR_PNG, LKS_QR_TXT } lks_qr_format;

typedef struct lks_qrcache lks_qrcache;

typedef struct lks_qrcache_stats {
	uint64_t hits, misses;
	size_t entries;
	size_t bytes; /* images, their texts and bookkeeping, never above the bound */
} lks_qrcache_stats;

/* Makes a cache that holds at most max_bytes (0: it keeps nothing and every
 * lookup renders). *out is freed with lks_qrcache_free. Returns 0 or
 * LKS_ENOMEM. */
int lks_qrcache_new(lks_qrcache **out, size_t max_bytes);

/* Frees the cache and every image in it; NULL is fine. No call may be in
 * flight. */
void lks_qrcache_free(lks_qrcache *c);

/* The QR code of text drawn as format (lks_qr_svg, lks_qr_png at the default
 * scale, lks_qr_text without colours), from the cache or rendered and kept
 * (the least recently used images go first when room is needed). *out holds
 * the image's *len bytes (no NUL after them) and belongs to the caller (free());
 * etag receives its strong ETag, quotes included, a hash of the bytes. Safe
 * from any number of threads. Returns 0 or the rendering's code (LKS_EINVAL,
 * LKS_ETOOBIG, LKS_ENOMEM). */
int lks_qrcache_get(lks_qrcache *c, void **out, size_t *len, char etag[LKS_QRCACHE_ETAG_SIZE],
		    const char *text, lks_qr_format format);

/* Counters and occupancy, summed over the cache (for tests). */
void lks_qrcache_stats_get(lks_qrcache *c, lks_qrcache_stats *out);

#endif
