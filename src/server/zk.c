/* End-to-end encrypted items on the server side: checking a pushed envelope
 * and its read proof, checking a reader's proof before any delivery, and the
 * per-item limit on wrong proofs that makes guessing a password an online,
 * slow affair (docs/e2e.md §6). The server only ever holds the envelope, its
 * public header and SHA-256(k_read). */
#include "zk.h"

#include "linksync/envelope.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* The limiter: one fixed window per item, in a bounded table. */

#define SLOTS 8192 /* a power of two */
#define PROBES 8

struct slot {
	char id[LKS_ID_LEN + 1]; /* "" when free */
	int64_t start;		 /* when the window of the first wrong proof began */
	unsigned count;		 /* wrong proofs in that window */
};

static struct slot slots[SLOTS];
static pthread_mutex_t limiter_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t seed_once = PTHREAD_ONCE_INIT;
static uint32_t seed;

/* A per-process random seed: someone who creates items and fails proofs on
 * them cannot aim at the slots of another item. */
static void seed_init(void)
{
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)&seed;
}

static unsigned home(const char *id)
{
	uint32_t h = 2166136261u ^ seed;

	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h & (SLOTS - 1);
}

static int active(const struct slot *s, int64_t now)
{
	return s->id[0] != '\0' && now < s->start + LKS_ZK_WINDOW;
}

static int limited(const struct slot *s, int64_t now)
{
	return active(s, now) && s->count >= LKS_ZK_WRONG_MAX;
}

/* The slot of id, or NULL; the caller holds the lock. */
static struct slot *find(const char *id)
{
	unsigned h = home(id);

	for (unsigned i = 0; i < PROBES; i++) {
		struct slot *s = &slots[(h + i) & (SLOTS - 1)];

		if (strcmp(s->id, id) == 0)
			return s;
	}
	return NULL;
}

static unsigned retry_after(const char *id, int64_t now)
{
	unsigned wait = 0, h;
	int all_limited = 1;
	struct slot *s;

	pthread_once(&seed_once, seed_init);
	pthread_mutex_lock(&limiter_lock);
	s = find(id);
	if (s != NULL) {
		if (limited(s, now))
			wait = (unsigned)(s->start + LKS_ZK_WINDOW - now);
		goto out;
	}
	/* Not tracked. Should every slot it could take be held by a limited
	 * item (a flood), fail closed rather than let it guess untracked. */
	h = home(id);
	for (unsigned i = 0; i < PROBES && all_limited; i++)
		all_limited = limited(&slots[(h + i) & (SLOTS - 1)], now);
	if (all_limited)
		wait = 1;
out:
	pthread_mutex_unlock(&limiter_lock);
	return wait;
}

static void wrong(const char *id, int64_t now)
{
	struct slot *s, *victim = NULL;
	unsigned h;

	pthread_once(&seed_once, seed_init);
	pthread_mutex_lock(&limiter_lock);
	s = find(id);
	if (s != NULL) {
		if (!active(s, now)) {
			s->start = now;
			s->count = 0;
		}
		s->count++;
		goto out;
	}
	/* A free or finished slot, else the oldest one that is not limited
	 * (evicting a limited item would lift its limit). */
	h = home(id);
	for (unsigned i = 0; i < PROBES; i++) {
		struct slot *c = &slots[(h + i) & (SLOTS - 1)];

		if (!active(c, now)) {
			victim = c;
			break;
		}
		if (!limited(c, now) && (victim == NULL || c->start < victim->start))
			victim = c;
	}
	if (victim == NULL)
		goto out; /* all limited: retry_after fails closed for id */
	snprintf(victim->id, sizeof(victim->id), "%s", id);
	victim->start = now;
	victim->count = 1;
out:
	pthread_mutex_unlock(&limiter_lock);
}

unsigned lks_zk_reserve(lks_zk_ticket *t, const char *id, int64_t now)
{
	snprintf(t->id, sizeof(t->id), "%s", id);
	t->now = now;
	return retry_after(id, now);
}

void lks_zk_verdict(lks_zk_ticket *t, int right)
{
	if (!right)
		wrong(t->id, t->now);
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
