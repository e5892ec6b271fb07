/* The server's limit on wrong read proofs (src/server/zk.c): ten wrong
 * proofs a minute per item, then a wait until the minute is over; items do
 * not share a limit; no more than ten wrong proofs are ever compared, however
 * many arrive at once; right proofs cost nothing and are not refused for
 * each other; a flood of wrong proofs on other items neither lifts an item's
 * limit nor (short of a flood sized in docs/e2e.md) refuses other items; and
 * a proof check of an envelope push. */
/* clang-format off: cmocka.h needs these first */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include "zk.h"

#include "linksync/envelope.h"
#include "linksync/error.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void new_id(char id[LKS_ID_LEN + 1])
{
	assert_int_equal(lks_id_new(id), 0);
}

/* A time in a window no earlier test has touched (the limiter's state lives
 * on from test to test). */
static int64_t fresh_time(void)
{
	static int64_t t = 1000;

	t += 10 * LKS_ZK_WINDOW;
	return t;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* The wait before id takes a proof at now (0: it takes one), found by
 * checking a right proof, which costs nothing. */
static unsigned retry_after(const char *id, int64_t now)
{
	lks_zk_ticket t;
	unsigned wait = lks_zk_reserve(&t, id, now);

	if (wait == 0)
		lks_zk_verdict(&t, 1);
	return wait;
}

/* Sends a wrong proof for id at now: the wait when it was refused, else 0. */
static unsigned wrong(const char *id, int64_t now)
{
	lks_zk_ticket t;
	unsigned wait = lks_zk_reserve(&t, id, now);

	if (wait == 0)
		lks_zk_verdict(&t, 0);
	return wait;
}

static void test_ten_a_minute(void **state)
{
	char id[LKS_ID_LEN + 1], other[LKS_ID_LEN + 1];
	int64_t t = fresh_time();

	(void)state;
	new_id(id);
	new_id(other);
	for (int i = 0; i < LKS_ZK_WRONG_MAX; i++)
		assert_int_equal(wrong(id, t + i), 0);
	/* The 11th try within the minute waits until the minute is over. */
	assert_int_equal(retry_after(id, t + 10), LKS_ZK_WINDOW - 10);
	assert_int_equal(retry_after(id, t + 59), 1);
	/* Another item is not affected. */
	assert_int_equal(retry_after(other, t + 10), 0);
	/* A new minute, a new allowance. */
	assert_int_equal(wrong(id, t + LKS_ZK_WINDOW), 0);
	assert_int_equal(retry_after(id, t + LKS_ZK_WINDOW + 1), 0);
}

static void test_nine_do_not_limit(void **state)
{
	char id[LKS_ID_LEN + 1];
	int64_t t = fresh_time();

	(void)state;
	new_id(id);
	for (int i = 0; i < LKS_ZK_WRONG_MAX - 1; i++)
		assert_int_equal(wrong(id, t), 0);
	assert_int_equal(retry_after(id, t), 0);
	assert_int_equal(wrong(id, t), 0);
	assert_true(retry_after(id, t) > 0);
}

/* Right proofs give their check back: any number of them between wrong ones
 * leaves the item's allowance as it was. */
static void test_right_proofs_cost_nothing(void **state)
{
	char id[LKS_ID_LEN + 1];
	int64_t t = fresh_time();

	(void)state;
	new_id(id);
	for (int i = 0; i < LKS_ZK_WRONG_MAX - 1; i++) {
		assert_int_equal(wrong(id, t), 0);
		for (int k = 0; k < 20; k++)
			assert_int_equal(retry_after(id, t), 0);
	}
	assert_int_equal(wrong(id, t), 0);
	assert_true(wrong(id, t) > 0);
}

/* Many items failing at once: each keeps its own count (the table holds
 * far more than this). */
static void test_many_items(void **state)
{
	static char ids[2000][LKS_ID_LEN + 1];
	int64_t t = fresh_time();

	(void)state;
	for (int i = 0; i < 2000; i++) {
		new_id(ids[i]);
		for (int k = 0; k < LKS_ZK_WRONG_MAX; k++)
			assert_int_equal(wrong(ids[i], t), 0);
	}
	for (int i = 0; i < 2000; i++)
		assert_true(retry_after(ids[i], t + 1) > 0);
}

/* --- Concurrent proofs ---------------------------------------------------- */

#define THREADS 32

struct burst {
	const char *id;
	int64_t now;
	int right;		 /* the proof every thread sends */
	pthread_barrier_t start; /* all threads ask at once */
	atomic_int compared;	 /* proofs the limiter let through */
	atomic_int refused;
};

/* One reader: asks, and when let through, takes its time comparing (so that
 * the others ask meanwhile) before it tells the verdict. */
static void *reader(void *arg)
{
	struct burst *b = arg;
	lks_zk_ticket t;

	pthread_barrier_wait(&b->start);
	if (lks_zk_reserve(&t, b->id, b->now) > 0) {
		atomic_fetch_add(&b->refused, 1);
		return NULL;
	}
	atomic_fetch_add(&b->compared, 1);
	sleep_ms(20);
	lks_zk_verdict(&t, b->right);
	return NULL;
}

static void run_burst(struct burst *b)
{
	pthread_t th[THREADS];

	atomic_init(&b->compared, 0);
	atomic_init(&b->refused, 0);
	assert_int_equal(pthread_barrier_init(&b->start, NULL, THREADS), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, b), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&b->start);
}

/* Many wrong proofs at once: the limiter lets exactly ten be compared (a
 * check before the comparison and a count after it would let through every
 * one that asked before the first count). */
static void test_concurrent_wrong_proofs(void **state)
{
	char id[LKS_ID_LEN + 1];
	struct burst b = {.id = id, .now = fresh_time(), .right = 0};

	(void)state;
	new_id(id);
	run_burst(&b);
	assert_int_equal(atomic_load(&b.compared), LKS_ZK_WRONG_MAX);
	assert_int_equal(atomic_load(&b.refused), THREADS - LKS_ZK_WRONG_MAX);
	assert_true(retry_after(id, b.now) > 0);
}

/* Many right proofs at once, on an item with one wrong proof left: none is
 * refused (each waits for the checks in flight, not for the minute), and the
 * last wrong proof is still there after them. */
static void test_concurrent_right_proofs(void **state)
{
	char id[LKS_ID_LEN + 1];
	struct burst b = {.id = id, .now = fresh_time(), .right = 1};

	(void)state;
	new_id(id);
	for (int i = 0; i < LKS_ZK_WRONG_MAX - 1; i++)
		assert_int_equal(wrong(id, b.now), 0);
	run_burst(&b);
	assert_int_equal(atomic_load(&b.compared), THREADS);
	assert_int_equal(atomic_load(&b.refused), 0);
	assert_int_equal(wrong(id, b.now), 0);
	assert_true(retry_after(id, b.now) > 0);
}

/* --- Floods on other items ------------------------------------------------- */

/* Wrong proofs on many other items (creating items is free) must not make
 * the limiter forget an item's count: here the guessed item has one wrong
 * proof left before the flood, and at most one after it. */
static void test_flood_does_not_lift_a_limit(void **state)
{
	char id[LKS_ID_LEN + 1], other[LKS_ID_LEN + 1];
	int64_t t = fresh_time();
	int more = 0;

	(void)state;
	new_id(id);
	for (int i = 0; i < LKS_ZK_WRONG_MAX - 1; i++)
		assert_int_equal(wrong(id, t), 0);
	for (int i = 0; i < 50000; i++) {
		new_id(other);
		wrong(other, t + 1);
	}
	while (more <= LKS_ZK_WRONG_MAX && wrong(id, t + 2) == 0)
		more++;
	assert_true(more <= 1);
}

/* A flood that holds many items at their limit refuses those items, but not
 * (but for the rare item whose every counter it filled, docs/e2e.md) the
 * first proof, right or wrong, of an item it did not touch. */
static void test_flood_does_not_refuse_others(void **state)
{
	enum { FLOOD = 20000, OTHERS = 1000 };
	static char flood[FLOOD][LKS_ID_LEN + 1];
	char id[LKS_ID_LEN + 1];
	int64_t t = fresh_time();
	int refused = 0;

	(void)state;
	for (int i = 0; i < FLOOD; i++) {
		new_id(flood[i]);
		for (int k = 0; k < LKS_ZK_WRONG_MAX; k++)
			wrong(flood[i], t);
	}
	for (int i = 0; i < FLOOD; i += 20)
		assert_true(retry_after(flood[i], t + 1) > 0);
	for (int i = 0; i < OTHERS; i++) {
		new_id(id);
		refused += retry_after(id, t + 1) > 0;
	}
	/* Expected: about 0.4 of the 1000 (3 counters, each full with
	 * probability 1 - e^(-20000/2^18) = 0.073). */
	assert_true(refused <= OTHERS / 100);
}

static void test_describe(void **state)
{
	uint8_t secret[LKS_E2E_SECRET_BYTES] = {1, 2, 3};
	uint8_t *env = NULL, proof[LKS_ENVELOPE_PROOF_BYTES], hash[32];
	lks_envelope_header h;
	size_t len = 0;
	lks_item it;
	char text[LKS_ENVELOPE_PROOF_LEN + 1];
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	unsigned acc = 0, bits = 0, o = 0;

	(void)state;
	assert_int_equal(
	    lks_envelope_seal(&env, &len, secret, NULL, 0, "text/plain", NULL, "hi", 2), 0);
	assert_int_equal(lks_envelope_header_parse(&h, env, len), 0);
	assert_int_equal(lks_envelope_read_proof(proof, secret, NULL, &h), 0);
	for (size_t i = 0; i < sizeof(proof); i++) {
		acc = (acc << 8) | proof[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			text[o++] = a[(acc >> bits) & 63];
		}
	}
	text[o++] = a[(acc << (6 - bits)) & 63];
	text[o] = '\0';

	memset(&it, 0, sizeof(it));
	assert_int_equal(lks_zk_describe(&it, env, len, text), 0);
	assert_int_equal(it.encrypted, 1);
	assert_memory_equal(it.envelope_header, env, LKS_ENVELOPE_HEADER_BYTES);
	lks_envelope_proof_hash(hash, proof);
	assert_memory_equal(it.proof_hash, hash, 32);

	memset(&it, 0, sizeof(it));
	assert_int_equal(lks_zk_describe(&it, env, len, NULL), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, env, len, "short"), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, env, 40, text), LKS_EINVAL);
	assert_int_equal(lks_zk_describe(&it, "LKS2", 4, text), LKS_EINVAL);
	assert_int_equal(it.encrypted, 0);
	free(env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ten_a_minute),
	    cmocka_unit_test(test_nine_do_not_limit),
	    cmocka_unit_test(test_right_proofs_cost_nothing),
	    cmocka_unit_test(test_many_items),
	    cmocka_unit_test(test_concurrent_wrong_proofs),
	    cmocka_unit_test(test_concurrent_right_proofs),
	    cmocka_unit_test(test_flood_does_not_lift_a_limit),
	    cmocka_unit_test(test_flood_does_not_refuse_others),
	    cmocka_unit_test(test_describe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
