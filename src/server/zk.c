/* End-to-end encrypted items on the server side: checking a pushed envelope
 * and its read proof, checking a reader's proof before any delivery, and the
 * per-item limit on wrong proofs that makes guessing a password an online,
 * slow affair (docs/e2e.md §6). The server only ever holds the envelope, its
 * public header and SHA-256(k_read). */
#include "zk.h"

#include "linksync/envelope.h"
#include "linksync/id.h"

#include <assert.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* The limiter: wrong proofs counted in a sketch, one window for all items.
 *
 * Each item has a counter in each of ROWS rows, picked by a keyed hash; a
 * counter adds up the wrong proofs of every item that lands on it, so an
 * item's count is at least its own and never less, whatever other items do:
 * nothing is ever evicted, there is no "untracked" item, and a flood of wrong
 * proofs on other items can only make an item look limited (when it has
 * filled every one of its counters), never lift its limit. A table of
 * per-item entries cannot promise that in bounded memory: when it is full it
 * must either forget a count or refuse items it cannot track.
 *
 * A check is reserved before its proof is compared (pending, a list of the
 * tickets in flight, counted like wrong proofs) and given back when the
 * proof was right, so that no more than LKS_ZK_WRONG_MAX wrong proofs are
 * compared per item and window however many arrive at once. One window for
 * all items, rather than one per item, keeps the counters shared soundly: an
 * item's counters start and end their counts together. */

#define ROWS LKS_ZK_ROWS
#define COLS (1u << 18) /* per row, a power of two: 768 KiB in all */

static uint8_t wrong[ROWS][COLS];	 /* wrong proofs this window, saturating */
static int64_t window_start = INT64_MIN; /* no window yet */
static lks_zk_ticket *pending;		 /* checks in flight */
static unsigned waiters;		 /* reserves waiting for a verdict */
static pthread_mutex_t limiter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t verdict_given = PTHREAD_COND_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static uint8_t key[32];

/* A per-process random key: someone who creates items and fails proofs on
 * them cannot tell which counters they share with another item. */
static void key_init(void)
{
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key)) {
		uint64_t fallback[2] = {(uint64_t)time(NULL), (uint64_t)(uintptr_t)&fallback};

		lks_sha256(key, fallback, sizeof(fallback));
	}
}

/* id's counter in each row: from SHA-256(key || id), which whoever lacks the
 * key cannot predict. */
static void columns(uint32_t col[ROWS], const char *id)
{
	uint8_t in[sizeof(key) + LKS_ID_LEN], h[LKS_HASH_BYTES];
	size_t n = strnlen(id, LKS_ID_LEN);

	pthread_once(&key_once, key_init);
	memcpy(in, key, sizeof(key));
	memcpy(in + sizeof(key), id, n);
	lks_sha256(h, in, sizeof(key) + n);
	for (unsigned r = 0; r < ROWS; r++)
		col[r] = (((uint32_t)h[4 * r] << 24) | ((uint32_t)h[4 * r + 1] << 16) |
			  ((uint32_t)h[4 * r + 2] << 8) | h[4 * r + 3]) &
			 (COLS - 1);
}

unsigned lks_zk_reserve(lks_zk_ticket *t, const char *id, int64_t now)
{
	unsigned wait = 0;

	columns(t->col, id);
	pthread_mutex_lock(&limiter_lock);
	for (;;) {
		unsigned held[ROWS] = {0}, counted = UINT_MAX, all = UINT_MAX;

		if (now >= window_start + LKS_ZK_WINDOW) {
			memset(wrong, 0, sizeof(wrong));
			window_start = now;
		}
		for (const lks_zk_ticket *p = pending; p != NULL; p = p->next)
			for (unsigned r = 0; r < ROWS; r++)
				held[r] += p->col[r] == t->col[r];
		for (unsigned r = 0; r < ROWS; r++) {
			unsigned w = wrong[r][t->col[r]];

			counted = w < counted ? w : counted;
			all = w + held[r] < all ? w + held[r] : all;
		}
		if (all < LKS_ZK_WRONG_MAX) {
			t->next = pending;
			pending = t;
			break;
		}
		if (counted >= LKS_ZK_WRONG_MAX) {
			/* now may be a little older than window_start (read
			 * before the lock): the wait stays within a window. */
			int64_t left = window_start + LKS_ZK_WINDOW - now;

			wait = left > LKS_ZK_WINDOW ? LKS_ZK_WINDOW : (unsigned)left;
			break;
		}
		/* Only checks in flight hold it back, and each ends in a
		 * moment: a right proof must not be refused because others
		 * are being compared. */
		waiters++;
		pthread_cond_wait(&verdict_given, &limiter_lock);
		waiters--;
	}
	pthread_mutex_unlock(&limiter_lock);
	return wait;
}

void lks_zk_verdict(lks_zk_ticket *t, int right)
{
	lks_zk_ticket **p;

	pthread_mutex_lock(&limiter_lock);
	for (p = &pending; *p != t; p = &(*p)->next)
		assert(*p != NULL);
	*p = t->next;
	/* A wrong proof stays counted (in the current window, should the one
	 * it was reserved in have ended: it was held there until now). */
	if (!right)
		for (unsigned r = 0; r < ROWS; r++)
			if (wrong[r][t->col[r]] < UINT8_MAX)
				wrong[r][t->col[r]]++;
	if (waiters > 0)
		pthread_cond_broadcast(&verdict_given);
	pthread_mutex_unlock(&limiter_lock);
}

/* ------------------------------------------------------------------------ */
/* Push and read */

int lks_zk_describe(lks_item *it, const void *body, size_t len, const char *proof)
{
	lks_envelope_header h;

	if (lks_envelope_check(&h, body, len) < 0)
		return lks_error_set(
		    LKS_EINVAL,
		    "The body is not an LKS1 envelope (a valid %d-byte header and at "
		    "least %d bytes, see docs/e2e.md).",
		    LKS_ENVELOPE_HEADER_BYTES, LKS_ENVELOPE_MIN_BYTES);
	if (proof == NULL || *proof == '\0')
		return lks_error_set(LKS_EINVAL, "An encrypted item needs its read proof in the "
						 "X-Linksync-Read header.");
	if (lks_envelope_proof_hash_text(it->proof_hash, proof, strlen(proof)) < 0)
		return lks_error_set(LKS_EINVAL,
				     "X-Linksync-Read must be %d characters of "
				     "base64url (the envelope's k_read).",
				     LKS_ENVELOPE_PROOF_LEN);
	lks_envelope_header_serialize(it->envelope_header, &h);
	it->encrypted = 1;
	return 0;
}

static int64_t monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* Sends {"error": name, "message": message} with status; retry_after > 0
 * adds Retry-After. */
static enum MHD_Result send_refusal(struct request *req, unsigned status, const char *name,
				    const char *message, unsigned retry_after)
{
	json_t *o = json_pack("{s:s, s:s}", "error", name, "message", message);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	struct MHD_Response *resp;
	enum MHD_Result ret;
	char secs[16];
	size_t n;

	json_decref(o);
	if (text == NULL)
		return MHD_NO;
	n = strlen(text);
	resp = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (retry_after > 0) {
		snprintf(secs, sizeof(secs), "%u", retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs);
	}
	lks_add_common_headers(resp);
	ret = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

int lks_zk_check_read(struct request *req, const lks_item *it, enum MHD_Result *answered)
{
	const char *proof = lks_header(req, LKS_ENVELOPE_READ_HEADER);
	int64_t now = monotonic_seconds();
	lks_zk_ticket ticket;
	unsigned wait;
	int right;
	char msg[160];

	if (proof == NULL || *proof == '\0') {
		*answered =
		    send_refusal(req, MHD_HTTP_UNAUTHORIZED, "read_proof_required",
				 "This item is end-to-end encrypted: open its full link (with "
				 "the #key part) in a browser, or pull it with linksync.",
				 0);
		return 1;
	}
	wait = lks_zk_reserve(&ticket, it->id, now);
	if (wait > 0) {
		snprintf(msg, sizeof(msg),
			 "Too many wrong keys or passwords for this item: try again in %u s.",
			 wait);
		*answered =
		    send_refusal(req, MHD_HTTP_TOO_MANY_REQUESTS, "rate_limited", msg, wait);
		return 1;
	}
	right = lks_envelope_proof_check(it->proof_hash, proof, strlen(proof)) == 0;
	lks_zk_verdict(&ticket, right);
	if (right)
		return 0;
	*answered = send_refusal(req, MHD_HTTP_FORBIDDEN, "wrong_key",
				 "The key or the password is wrong for this item (or the item was "
				 "updated: fetch its metadata and derive the proof again).",
				 0);
	return 1;
}
