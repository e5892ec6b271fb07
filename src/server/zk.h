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
 * seconds, never going back) so that tests can drive it. It is per process
 * and bounded (docs/e2e.md §6 gives what a flood can still do): a node keeps
 * what it saw itself (a cluster of N nodes allows up to N times the rate;
 * each node still caps it). The window is one for all items: it opens at the
 * first check after the last one closed and lasts LKS_ZK_WINDOW. */

#define LKS_ZK_ROWS 3 /* counters per item */

/* One proof being checked: lks_zk_reserve fills it, lks_zk_verdict ends it. */
typedef struct lks_zk_ticket {
	uint32_t col[LKS_ZK_ROWS];
	struct lks_zk_ticket *next;
} lks_zk_ticket;

/* Reserves the check of one proof for item id at now. Returns 0 when the
 * caller may compare the proof; it must then call lks_zk_verdict(t, ...)
 * right after, with nothing in between that can block (other checks of the
 * item may wait for it), and keep t in place until then. Else returns the
 * seconds until the item takes proofs again (1 to LKS_ZK_WINDOW), and t is
 * free: LKS_ZK_WRONG_MAX wrong proofs were counted in this window (or, for an
 * item that had none, items sharing all of its counters had as many). May
 * wait, never for long, while checks in flight hold the item's last ones. */
unsigned lks_zk_reserve(lks_zk_ticket *t, const char *id, int64_t now);

/* Ends the check t: right = 1 gives it back, right = 0 counts a wrong proof. */
void lks_zk_verdict(lks_zk_ticket *t, int right);

#endif
