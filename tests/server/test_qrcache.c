/* The server's cache of rendered QR codes (src/server/qrcache.c): a hit gives
 * the very bytes of a fresh rendering with the same ETag; the byte bound holds
 * while the least recently used codes go and a code in use stays; a cache of
 * 0 bytes keeps nothing; errors are not kept; and threads sharing it get
 * correct images, each code kept once. */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "qrcache.h"

#include "linksync/error.h"
#include "linksync/qr.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const lks_qr_format formats[] = {LKS_QR_SVG, LKS_QR_PNG, LKS_QR_TXT};

/* A link as the server makes them, numbered (fixed, so that every run puts
 * the same links in the same shards). */
static void link_of(char *out, size_t n, unsigned i)
{
	snprintf(out, n, "http://192.168.1.20:8080/%026u", i);
}

/* Renders text directly with lks_qr_*, as the server did before the cache. */
static void fresh(void **out, size_t *len, const char *text, lks_qr_format format)
{
	unsigned char *png = NULL;
	char *s = NULL;

	switch (format) {
	case LKS_QR_SVG:
		assert_int_equal(lks_qr_svg(&s, len, text), 0);
		break;
	case LKS_QR_PNG:
		assert_int_equal(lks_qr_png(&png, len, text, 0), 0);
		*out = png;
		return;
	case LKS_QR_TXT:
		assert_int_equal(lks_qr_text(&s, text, 0), 0);
		*len = strlen(s);
		break;
	}
	*out = s;
}

static void get_ok(lks_qrcache *c, void **out, size_t *len, char etag[LKS_QRCACHE_ETAG_SIZE],
		   const char *text, lks_qr_format format)
{
	assert_int_equal(lks_qrcache_get(c, out, len, etag, text, format), 0);
	assert_non_null(*out);
}

static void test_hit_is_a_fresh_rendering(void **state)
{
	lks_qrcache *c = NULL;
	lks_qrcache_stats st;
	char text[64], etag1[LKS_QRCACHE_ETAG_SIZE], etag2[LKS_QRCACHE_ETAG_SIZE];

	(void)state;
	assert_int_equal(lks_qrcache_new(&c, LKS_QRCACHE_DEFAULT_BYTES), 0);
	link_of(text, sizeof(text), 1);
	for (size_t f = 0; f < 3; f++) {
		void *want = NULL, *first = NULL, *again = NULL;
		size_t want_len = 0, first_len = 0, again_len = 0;

		fresh(&want, &want_len, text, formats[f]);
		get_ok(c, &first, &first_len, etag1, text, formats[f]);
		get_ok(c, &again, &again_len, etag2, text, formats[f]);
		assert_int_equal(first_len, want_len);
		assert_memory_equal(first, want, want_len);
		assert_int_equal(again_len, want_len);
		assert_memory_equal(again, want, want_len);
		assert_ptr_not_equal(again, first); /* the caller's own copy */
		assert_string_equal(etag1, etag2);
		free(want);
		free(first);
		free(again);
	}
	lks_qrcache_stats_get(c, &st);
	assert_int_equal(st.misses, 3);
	assert_int_equal(st.hits, 3);
	assert_int_equal(st.entries, 3);
	assert_true(st.bytes > 0 && st.bytes <= LKS_QRCACHE_DEFAULT_BYTES);
	lks_qrcache_free(c);
}

static void test_etags(void **state)
{
	lks_qrcache *a = NULL, *b = NULL;
	char text[64], other[64];
	char tags[3][LKS_QRCACHE_ETAG_SIZE], tag[LKS_QRCACHE_ETAG_SIZE];
	void *img = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(lks_qrcache_new(&a, LKS_QRCACHE_DEFAULT_BYTES), 0);
	assert_int_equal(lks_qrcache_new(&b, LKS_QRCACHE_DEFAULT_BYTES), 0);
	link_of(text, sizeof(text), 7);
	link_of(other, sizeof(other), 8);
	for (size_t f = 0; f < 3; f++) {
		get_ok(a, &img, &len, tags[f], text, formats[f]);
		free(img);
		/* Quoted, "qr-" and 16 hex digits. */
		assert_int_equal(strlen(tags[f]), 21);
		assert_int_equal(strncmp(tags[f], "\"qr-", 4), 0);
		assert_int_equal(strspn(tags[f] + 4, "0123456789abcdef"), 16);
		assert_int_equal(tags[f][20], '"');
		/* The same bytes elsewhere (another node, a restart): the same tag. */
		get_ok(b, &img, &len, tag, text, formats[f]);
		free(img);
		assert_string_equal(tag, tags[f]);
		/* Another link: another tag. */
		get_ok(a, &img, &len, tag, other, formats[f]);
		free(img);
		assert_string_not_equal(tag, tags[f]);
	}
	assert_string_not_equal(tags[0], tags[1]);
	assert_string_not_equal(tags[1], tags[2]);
	lks_qrcache_free(a);
	lks_qrcache_free(b);
}

/* 400 links through a cache that holds a few dozen PNGs: the bound holds
 * after every insertion, a link fetched between all of them is never drawn
 * again, and the first ones are gone. */
static void test_eviction_keeps_hot(void **state)
{
	const size_t bound = 64 * 1024;
	lks_qrcache *c = NULL;
	lks_qrcache_stats st;
	char text[64], hot[64], etag[LKS_QRCACHE_ETAG_SIZE];
	void *img = NULL, *want = NULL;
	size_t len = 0, want_len = 0;
	uint64_t misses;

	(void)state;
	assert_int_equal(lks_qrcache_new(&c, bound), 0);
	link_of(hot, sizeof(hot), 999999);
	fresh(&want, &want_len, hot, LKS_QR_PNG);
	get_ok(c, &img, &len, etag, hot, LKS_QR_PNG);
	free(img);
	for (unsigned i = 0; i < 400; i++) {
		link_of(text, sizeof(text), i);
		get_ok(c, &img, &len, etag, text, LKS_QR_PNG);
		free(img);
		get_ok(c, &img, &len, etag, hot, LKS_QR_PNG);
		assert_int_equal(len, want_len);
		assert_memory_equal(img, want, want_len);
		free(img);
		lks_qrcache_stats_get(c, &st);
		assert_true(st.bytes <= bound);
	}
	lks_qrcache_stats_get(c, &st);
	assert_int_equal(st.misses, 401); /* the hot link was drawn once */
	assert_int_equal(st.hits, 400);
	assert_true(st.entries > 16 && st.entries < 100);
	/* The first links were dropped for later ones: drawn again. */
	misses = st.misses;
	link_of(text, sizeof(text), 0);
	get_ok(c, &img, &len, etag, text, LKS_QR_PNG);
	free(img);
	lks_qrcache_stats_get(c, &st);
	assert_int_equal(st.misses, misses + 1);
	free(want);
	lks_qrcache_free(c);
}

static void test_zero_bytes_keeps_nothing(void **state)
{
	lks_qrcache *c = NULL;
	lks_qrcache_stats st;
	char text[64], etag1[LKS_QRCACHE_ETAG_SIZE], etag2[LKS_QRCACHE_ETAG_SIZE];
	void *a = NULL, *b = NULL;
	size_t alen = 0, blen = 0;

	(void)state;
	assert_int_equal(lks_qrcache_new(&c, 0), 0);
	link_of(text, sizeof(text), 3);
	get_ok(c, &a, &alen, etag1, text, LKS_QR_SVG);
	get_ok(c, &b, &blen, etag2, text, LKS_QR_SVG);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	assert_string_equal(etag1, etag2);
	lks_qrcache_stats_get(c, &st);
	assert_int_equal(st.misses, 2);
	assert_int_equal(st.hits, 0);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	free(a);
	free(b);
	lks_qrcache_free(c);
	lks_qrcache_free(NULL);
}

static void test_errors_are_not_kept(void **state)
{
	lks_qrcache *c = NULL;
	lks_qrcache_stats st;
	char etag[LKS_QRCACHE_ETAG_SIZE], *big = malloc(8000);
	void *img = (void *)1;
	size_t len = 1;

	(void)state;
	assert_non_null(big);
	memset(big, 'a', 7999);
	big[7999] = '\0';
	assert_int_equal(lks_qrcache_new(&c, LKS_QRCACHE_DEFAULT_BYTES), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(lks_qrcache_get(c, &img, &len, etag, "", LKS_QR_PNG), LKS_EINVAL);
		assert_null(img);
		assert_int_equal(len, 0);
		assert_int_equal(lks_qrcache_get(c, &img, &len, etag, big, LKS_QR_SVG),
				 LKS_ETOOBIG);
		assert_null(img);
	}
	lks_qrcache_stats_get(c, &st);
	assert_int_equal(st.misses, 4);
	assert_int_equal(st.entries, 0);
	assert_int_equal(st.bytes, 0);
	free(big);
	lks_qrcache_free(c);
}

/* ------------------------------------------------------------------------ */
/* Threads */

#define THREADS 4
#define LINKS 16
#define ROUNDS 1500

struct shared {
	lks_qrcache *cache;
	void *want[LINKS][3];
	size_t want_len[LINKS][3];
};

static void *worker(void *arg)
{
	struct shared *sh = arg;
	char text[64], etag[LKS_QRCACHE_ETAG_SIZE];
	unsigned seed = (unsigned)(uintptr_t)text; /* differs per thread */
	intptr_t bad = 0;

	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned i = (unsigned)rand_r(&seed) % LINKS, f = (unsigned)rand_r(&seed) % 3;
		void *img = NULL;
		size_t len = 0;

		link_of(text, sizeof(text), i);
		if (lks_qrcache_get(sh->cache, &img, &len, etag, text, formats[f]) != 0 ||
		    len != sh->want_len[i][f] || memcmp(img, sh->want[i][f], len) != 0)
			bad++;
		free(img);
	}
	return (void *)bad;
}

static void run_threads(size_t bound, lks_qrcache_stats *st)
{
	struct shared sh = {0};
	pthread_t t[THREADS];
	char text[64];

	assert_int_equal(lks_qrcache_new(&sh.cache, bound), 0);
	for (unsigned i = 0; i < LINKS; i++) {
		link_of(text, sizeof(text), i);
		for (unsigned f = 0; f < 3; f++)
			fresh(&sh.want[i][f], &sh.want_len[i][f], text, formats[f]);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, &sh), 0);
	for (int i = 0; i < THREADS; i++) {
		void *bad = NULL;

		assert_int_equal(pthread_join(t[i], &bad), 0);
		assert_int_equal((intptr_t)bad, 0);
	}
	lks_qrcache_stats_get(sh.cache, st);
	assert_int_equal(st->hits + st->misses, THREADS * ROUNDS);
	assert_true(st->bytes <= bound);
	for (unsigned i = 0; i < LINKS; i++)
		for (unsigned f = 0; f < 3; f++)
			free(sh.want[i][f]);
	lks_qrcache_free(sh.cache);
}

static void test_threads_roomy(void **state)
{
	lks_qrcache_stats st;

	(void)state;
	run_threads(LKS_QRCACHE_DEFAULT_BYTES, &st);
	/* Everything fits: each code kept exactly once, however many threads
	 * missed it at the same time. */
	assert_int_equal(st.entries, LINKS * 3);
	assert_true(st.misses >= LINKS * 3);
	assert_true(st.hits > 0);
}

static void test_threads_tight(void **state)
{
	lks_qrcache_stats st;

	(void)state;
	/* The 48 codes take about 110 KiB: evictions all the time. */
	run_threads(96 * 1024, &st);
	assert_true(st.entries < LINKS * 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_is_a_fresh_rendering),
		cmocka_unit_test(test_etags),
		cmocka_unit_test(test_eviction_keeps_hot),
		cmocka_unit_test(test_zero_bytes_keeps_nothing),
		cmocka_unit_test(test_errors_are_not_kept),
		cmocka_unit_test(test_threads_roomy),
		cmocka_unit_test(test_threads_tight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
