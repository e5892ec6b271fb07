/* Internal to linksyncd: what the server does for end-to-end encrypted items
 * (docs/e2e.md §6). It never sees a key: it checks the envelope's public
 * header and the read proof a client sends (X-Linksync-Read), keeps only the
 * proof's SHA-256, and hands the envelope only to a reader whose proof
 * matches, limiting wrong proofs per item so that a password can only be
 * guessed slowly. */
#ifndef LKS_SERVER_ZK_H
#define LKS_SERVER_ZK_H

#include "server_int.h"

#include <stdint.h>

/* Wrong proofs an item takes per window before it answers 429. */
#define LKS_ZK_WRONG_MAX 10
#define LKS_ZK_WINDOW 60 /* seconds */

/* Fills it's end-to-end fields from a pushed envelope (body[0..len)) and its
 * X-Linksync-Read text (proof, may be NULL): encrypted = 1, the header, the
 * proof's hash. Returns 0 or LKS_EINVAL (no envelope, no or a malformed
 * proof: the message says which). */
int lks_zk_describe(lks_item *it, const void *body, size_t len, const char *proof);

/* Checks req's X-Linksync-Read against an encrypted item before anything of
 * its content is delivered. Returns 0 when the proof matches; otherwise it
 * has answered the request (401 without a proof, 403 with a wrong one, 429
 * while the item takes no more proofs) into *answered and returns 1. No
 * answer but 0 ever consumes a read. */
int lks_zk_check_read(struct request *req, const lks_item *it, enum MHD_Result *answered);

/* The limiter under lks_zk_check_read, with the clock passed in (monotonic
 * seconds) so that tests can drive it. The table is per process and bounded:
 * a node keeps what it saw itself (a cluster of N nodes allows up to N times
 * the rate; each node still caps it). */

/* One proof being checked: lks_zk_reserve fills it, lks_zk_verdict ends it. */
typedef struct lks_zk_ticket {
	char id[LKS_ID_LEN + 1];
	int64_t now;
} lks_zk_ticket;

/* Asks to check one proof for item id at now. Returns 0 when the caller may
 * compare it, and must then call lks_zk_verdict(t, ...); else the seconds
 * until the item takes proofs again (>= 1), and t is not used. */
unsigned lks_zk_reserve(lks_zk_ticket *t, const char *id, int64_t now);

/* Ends the check t: right = 1 when the proof matched, 0 when it was wrong. */
void lks_zk_verdict(lks_zk_ticket *t, int right);

#endif
